/**
 * A real kube-apiserver for tests, envtest style: a real etcd (EtcdProcess) and the kube-apiserver
 * binary on free loopback ports, with a generated service-account key, a self-signed serving cert
 * (the apiserver makes it in --cert-dir), a static admin token (system:masters) and AlwaysAllow
 * authorization, or real RBAC with `{ authorization: 'RBAC' }` (service-account tokens from
 * `serviceAccountToken()` then get exactly what their roles grant). No controller-manager,
 * scheduler or kubelet: objects are stored and validated, nothing runs them.
 *
 * The binary comes from $KUBEBUILDER_ASSETS/kube-apiserver, $SLUICE_KUBE_APISERVER, or the newest
 * ~/.cache/sluice/kube-apiserver-<version>/kube-apiserver (tools/build-kube-apiserver.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { EtcdProcess, freePort } from './etcd.js';

export function findKubeApiserver(): string | null {
  const candidates: string[] = [];
  if (process.env.KUBEBUILDER_ASSETS) candidates.push(join(process.env.KUBEBUILDER_ASSETS, 'kube-apiserver'));
  if (process.env.SLUICE_KUBE_APISERVER) candidates.push(process.env.SLUICE_KUBE_APISERVER);
  const cache = join(process.env.SLUICE_CACHE ?? join(homedir(), '.cache', 'sluice'));
  if (existsSync(cache)) {
    const dirs = readdirSync(cache)
      .filter((d) => /^kube-apiserver-v\d+\.\d+\.\d+$/.test(d))
      .sort((a, b) => compareVersions(b.slice('kube-apiserver-'.length), a.slice('kube-apiserver-'.length)));
    for (const d of dirs) candidates.push(join(cache, d, 'kube-apiserver'));
  }
  return candidates.find((p) => existsSync(p)) ?? null;
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Why the kube-apiserver tests are skipped, or null when they can run. */
export function kubeApiserverSkipReason(): string | null {
  if (findKubeApiserver()) return null;
  return 'kube-apiserver not built: run tools/build-kube-apiserver.sh (or set KUBEBUILDER_ASSETS)';
}

export class KubeApiServer {
  readonly etcd = new EtcdProcess();
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-kube-apiserver-'));
  readonly token = randomBytes(16).toString('hex');
  port = 0;
  child: ChildProcess | null = null;
  readonly logs: string[] = [];
  client!: KubeClient;

  constructor(readonly opts: { authorization?: 'AlwaysAllow' | 'RBAC' } = {}) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'kubeconfig');
  }

  async start(): Promise<this> {
    const bin = findKubeApiserver();
    if (!bin) throw new Error(kubeApiserverSkipReason()!);
    await this.etcd.start();
    this.port = await freePort();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(this.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(this.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(this.dir, 'tokens.csv'), `${this.token},admin,admin,system:masters\n`);
    const args = [
      `--etcd-servers=${this.etcd.endpoint}`,
      '--etcd-prefix=/registry',
      `--secure-port=${this.port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${join(this.dir, 'certs')}`,
      `--token-auth-file=${join(this.dir, 'tokens.csv')}`,
      `--authorization-mode=${this.opts.authorization ?? 'AlwaysAllow'}`,
      `--service-account-key-file=${join(this.dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(this.dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/24',
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--v=1',
    ];
    this.#bin = bin;
    this.#args = args;
    writeFileSync(this.kubeconfigPath, this.kubeconfig());
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfig());
    this.client = new KubeClient(kc);
    await this.#spawn();
    // The default namespace appears shortly after readiness (the apiserver's own controller).
    await waitFor(
      async () =>
        (await this.client.getOrNull(resourceFor('v1', 'Namespace'), undefined, 'default')) !== null,
      30_000,
      'default namespace',
    );
    return this;
  }

  #bin = '';
  #args: string[] = [];

  async #spawn(): Promise<void> {
    const child = spawn(this.#bin, this.#args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (d: Buffer) => {
      this.logs.push(d.toString());
      if (this.logs.length > 500) this.logs.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`kube-apiserver exited (${child.exitCode}):\n${this.logs.join('').slice(-4000)}`);
      try {
        const r = await this.client.request<string>('GET', '/readyz');
        if (String(r).trim() === 'ok') break;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline)
        throw new Error(`kube-apiserver not ready:\n${this.logs.join('').slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops only the kube-apiserver process (etcd and the data stay). */
  async stopApiserver(): Promise<void> {
    await this.#killApiserver();
  }

  /** Starts the kube-apiserver again on the same port, with the same etcd. */
  async restartApiserver(): Promise<void> {
    await this.#killApiserver();
    await this.#spawn();
  }

  /** A token for a ServiceAccount (TokenRequest API), e.g. to act as the operator or a broker pod. */
  async serviceAccountToken(namespace: string, name: string): Promise<string> {
    const r = await this.client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    return r.status.token;
  }

  /** A client (and a kubeconfig file in the temp dir) that authenticates with `token`. */
  clientFor(token: string, file: string): { client: KubeClient; kubeconfigPath: string } {
    const text = this.kubeconfig(token);
    const kubeconfigPath = join(this.dir, file);
    writeFileSync(kubeconfigPath, text);
    const kc = new KubeConfig();
    kc.loadFromString(text);
    return { client: new KubeClient(kc), kubeconfigPath };
  }

  kubeconfig(token = this.token): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${this.url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: test',
      '  context: {cluster: test, user: admin}',
      'current-context: test',
      '',
    ].join('\n');
  }

  async createNamespace(name: string): Promise<void> {
    await this.client.create(resourceFor('v1', 'Namespace'), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  }

  /** Installs every CRD in `dir` and waits until each is Established. */
  async installCrds(dir: string): Promise<string[]> {
    const crdRes = resourceFor('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
    const names: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
        const crd = doc.toJS() as AnyObject | null;
        if (!crd) continue;
        await this.client.create(crdRes, crd);
        names.push(crd.metadata.name);
      }
    }
    for (const n of names) {
      await waitFor(
        async () => {
          const c = await this.client.get<
            AnyObject & { status?: { conditions?: { type: string; status: string }[] } }
          >(crdRes, undefined, n);
          return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ?? false;
        },
        30_000,
        `CRD ${n} established`,
      );
    }
    // Discovery of the new group lags a little behind Established.
    await new Promise((r) => setTimeout(r, 500));
    return names;
  }

  async #killApiserver(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.#killApiserver();
    await this.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
