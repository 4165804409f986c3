/**
 * A small REST client for the Kubernetes API. @kubernetes/client-node's KubeConfig loads the
 * configuration (in-cluster service account, or a kubeconfig) and signs requests; the requests
 * themselves go through node:https so the operator controls exactly what it sends: server-side
 * apply for desired objects, merge patches on /status, chunk-free list and streamed watch.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(status: number, message: string, reason: string, body: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
  get gone(): boolean {
    return this.status === 410;
  }
}

/** Where a kind lives in the API: the path prefix and its plural. */
export interface ResourceRef {
  apiVersion: string;
  plural: string;
  namespaced: boolean;
}

const CORE_PLURALS: Record<string, { plural: string; namespaced: boolean }> = {
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  Pod: { plural: 'pods', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  Event: { plural: 'events', namespaced: true },
  PersistentVolumeClaim: { plural: 'persistentvolumeclaims', namespaced: true },
  Node: { plural: 'nodes', namespaced: false },
  Namespace: { plural: 'namespaces', namespaced: false },
  StatefulSet: { plural: 'statefulsets', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  ServiceMonitor: { plural: 'servicemonitors', namespaced: true },
  PrometheusRule: { plural: 'prometheusrules', namespaced: true },
  KafkaCluster: { plural: 'kafkaclusters', namespaced: true },
  KafkaTopic: { plural: 'kafkatopics', namespaced: true },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  Lease: { plural: 'leases', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  SubjectAccessReview: { plural: 'subjectaccessreviews', namespaced: false },
};

export function resourceFor(apiVersion: string, kind: string): ResourceRef {
  const k = CORE_PLURALS[kind];
  if (!k) throw new Error(`unknown kind ${kind}`);
  return { apiVersion, ...k };
}

export function collectionPath(r: ResourceRef, namespace?: string): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return r.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`
    : `${base}/${r.plural}`;
}

export function objectPath(r: ResourceRef, namespace: string | undefined, name: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
}

/** The least the client needs of an object it sends: its kind and where it lives. */
export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

function nameOf(obj: ObjectRef): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${obj.kind ?? 'object'} without metadata.name`);
  return name;
}

/** Any object as JSON (tests, objects the operator only passes through). */
export interface AnyObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly #server: URL;

  constructor(config: KubeConfig) {
    this.config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.#server = new URL(cluster.server);
  }

  /** In-cluster config when running in a pod, else $KUBECONFIG / ~/.kube/config, or an explicit file. */
  static load(kubeconfigPath?: string): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  async #options(method: string, path: string, o: RequestOptions): Promise<https.RequestOptions> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const q = qs.toString();
    const opts: https.RequestOptions = {
      method,
      protocol: this.#server.protocol,
      hostname: this.#server.hostname.replace(/^\[|\]$/g, ''),
      port: this.#server.port || (this.#server.protocol === 'https:' ? 443 : 80),
      path: `${this.#server.pathname.replace(/\/$/, '')}${path}${q ? `?${q}` : ''}`,
      headers: { Accept: 'application/json' },
    };
    await this.config.applyToHTTPSOptions(opts);
    return opts;
  }

  #send(
    opts: https.RequestOptions,
    body: string | undefined,
    contentType: string | undefined,
    timeoutMs: number,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (body !== undefined)
        opts.headers = {
          ...opts.headers,
          'Content-Type': contentType ?? 'application/json',
          'Content-Length': Buffer.byteLength(body),
        };
      const mod = opts.protocol === 'https:' ? https : http;
      const req = mod.request(opts, resolve);
      req.on('error', reject);
      if (timeoutMs > 0)
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const opts = await this.#options(method, path, o);
    const body =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const res = await this.#send(opts, body, o.contentType, o.timeoutMs ?? 30_000);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const s = parsed as { message?: string; reason?: string } | undefined;
      throw new KubeApiError(
        status,
        `${method} ${path}: ${status} ${s?.message ?? text}`,
        s?.reason ?? '',
        parsed,
      );
    }
    return parsed as T;
  }

  get<T extends ObjectRef = AnyObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    return this.request<T>('GET', objectPath(r, namespace, name));
  }

  async getOrNull<T extends ObjectRef = AnyObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | null> {
    try {
      return await this.get<T>(r, namespace, name);
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return null;
      throw err;
    }
  }

  list<T extends ObjectRef = AnyObject>(
    r: ResourceRef,
    namespace?: string,
    labelSelector?: string,
  ): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
    return this.request('GET', collectionPath(r, namespace), { query: { labelSelector } });
  }

  create<T = AnyObject>(r: ResourceRef, obj: ObjectRef | AnyObject): Promise<T> {
    return this.request<T>('POST', collectionPath(r, obj.metadata?.namespace), { body: obj });
  }

  /** Server-side apply: the operator owns the fields it sends and nothing else. */
  apply<T extends ObjectRef>(obj: T, fieldManager: string): Promise<T> {
    const r = resourceFor(obj.apiVersion ?? 'v1', obj.kind ?? '');
    return this.request<T>('PATCH', objectPath(r, obj.metadata?.namespace, nameOf(obj)), {
      query: { fieldManager, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  mergePatch<T extends AnyObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: 'status',
  ): Promise<T> {
    return this.request<T>('PATCH', objectPath(r, namespace, name) + (subresource ? `/${subresource}` : ''), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  jsonPatch<T extends AnyObject>(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
    ops: unknown[],
  ): Promise<T> {
    return this.request<T>('PATCH', objectPath(r, namespace, name), {
      body: ops,
      contentType: 'application/json-patch+json',
    });
  }

  async delete(
    r: ResourceRef,
    namespace: string | undefined,
    name: string,
    body?: unknown,
  ): Promise<boolean> {
    try {
      await this.request('DELETE', objectPath(r, namespace, name), body === undefined ? {} : { body });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return false;
      throw err;
    }
  }

  /**
   * Streams watch events from `resourceVersion` until the server ends the watch (its timeout) or
   * `signal` aborts. Throws KubeApiError(410) when the version is too old: relist then.
   */
  async *watch<T extends AnyObject>(
    r: ResourceRef,
    namespace: string | undefined,
    resourceVersion: string,
    signal: AbortSignal,
    timeoutSeconds = 300,
  ): AsyncGenerator<WatchEvent<T>> {
    const opts = await this.#options('GET', collectionPath(r, namespace), {
      query: { watch: 1, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
    });
    opts.signal = signal;
    const res = await this.#send(opts, undefined, undefined, 0);
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new KubeApiError(
        res.statusCode ?? 0,
        `watch ${r.plural}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`,
        '',
        null,
      );
    }
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += (chunk as Buffer).toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as { code?: number; message?: string; reason?: string };
            throw new KubeApiError(
              st.code ?? 500,
              `watch ${r.plural}: ${st.message ?? 'error'}`,
              st.reason ?? '',
              st,
            );
          }
          yield ev;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }
}
