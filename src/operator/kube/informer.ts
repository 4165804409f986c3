/**
 * List-then-watch cache of one resource type (client-go's reflector + store, in small). Every
 * change calls `onChange(key)`; a watch that fails is restarted with exponential backoff, a 410
 * (version too old) relists. It never throws out of `start()`: the operator must not exit because
 * the API server hiccuped.
 */
import type { Logger } from 'pino';
import { KubeApiError, type AnyObject, type KubeClient, type ResourceRef } from './client.js';

export function keyOf(o: { metadata: { namespace?: string; name: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  log: Logger;
  onChange: (key: string, obj: AnyObject | undefined) => void;
  /** Called after each (re)list with every key present, so periodic resyncs see them all. */
  onSynced?: (keys: string[]) => void;
  maxBackoffMs?: number;
  /** Counts watch restarts (a metric). */
  onRestart?: () => void;
  /** The server-side watch timeout asked for (default 120 s); see #watchOnce. */
  watchTimeoutSeconds?: number;
}

export class Informer<T extends AnyObject> {
  readonly #client: KubeClient;
  readonly #resource: ResourceRef;
  readonly #o: InformerOptions;
  readonly #cache = new Map<string, T>();
  readonly #abort = new AbortController();
  #synced = false;
  #running: Promise<void> | null = null;
  #syncWaiters: (() => void)[] = [];

  constructor(client: KubeClient, resource: ResourceRef, o: InformerOptions) {
    this.#client = client;
    this.#resource = resource;
    this.#o = o;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get synced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((r) => this.#syncWaiters.push(r));
  }

  start(): void {
    if (!this.#running) this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  /**
   * Whether stop() was called. Read through a method: the loop checks it again after every await,
   * where a narrowed `signal.aborted` would look constant to the type checker but is not.
   */
  #stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    let backoff = 200;
    const max = this.#o.maxBackoffMs ?? 30_000;
    while (!this.#stopping()) {
      try {
        const list = await this.#client.list<T>(this.#resource, this.#o.namespace, this.#o.labelSelector);
        this.#replace(list.items);
        let rv = list.metadata.resourceVersion;
        backoff = 200;
        // Keep watching from the last version seen; a normal end (server timeout) just re-watches.
        for (;;) {
          if (this.#stopping()) return;
          rv = await this.#watchOnce(rv);
        }
      } catch (err) {
        if (this.#stopping()) return;
        this.#o.onRestart?.();
        const gone = err instanceof KubeApiError && err.gone;
        this.#o.log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            resource: this.#resource.plural,
            backoffMs: gone ? 0 : backoff,
          },
          gone ? 'watch expired; relisting' : 'watch failed; restarting with backoff',
        );
        if (!gone) {
          await sleep(backoff, signal);
          backoff = Math.min(backoff * 2, max);
        }
      }
    }
  }

  /**
   * One watch from `rv`; returns the last version seen. The server ends a watch after its timeout,
   * but a connection that dies silently (no FIN, as through a restarted relay or NAT) would leave
   * the stream waiting forever and the cache stale: the operator then never hears of a spec change
   * (the real-node e2e saw a scale-down ignored for good). So the watch is also abandoned when
   * nothing, not even a bookmark, arrived for the server timeout plus 30 s, and started again.
   */
  async #watchOnce(from: string): Promise<string> {
    let rv = from;
    const timeoutSeconds = this.#o.watchTimeoutSeconds ?? 120;
    const idleMs = (timeoutSeconds + 30) * 1000;
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    let idle = setTimeout(() => ac.abort(), idleMs);
    try {
      for await (const ev of this.#client.watch<T>(
        this.#resource,
        this.#o.namespace,
        rv,
        ac.signal,
        timeoutSeconds,
      )) {
        clearTimeout(idle);
        idle = setTimeout(() => ac.abort(), idleMs);
        rv = ev.object.metadata.resourceVersion ?? rv;
        if (ev.type === 'BOOKMARK') continue;
        const obj = ev.object;
        const key = keyOf(obj);
        if (ev.type === 'DELETED') this.#cache.delete(key);
        else this.#cache.set(key, obj);
        this.#o.onChange(key, ev.type === 'DELETED' ? undefined : obj);
      }
    } catch (err) {
      // Abandoned for silence (not stopped): watch again from the last version seen.
      if (ac.signal.aborted && !this.#stopping()) {
        this.#o.log.warn({ resource: this.#resource.plural, idleMs }, 'watch silent too long; restarting it');
        this.#o.onRestart?.();
        return rv;
      }
      throw err;
    } finally {
      clearTimeout(idle);
      this.#abort.signal.removeEventListener('abort', onStop);
    }
    return rv;
  }

  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const before = this.#cache.get(key);
      this.#cache.set(key, item);
      if (before?.metadata.resourceVersion !== item.metadata.resourceVersion) this.#o.onChange(key, item);
    }
    for (const key of [...this.#cache.keys()]) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#o.onChange(key, undefined);
      }
    }
    this.#o.onSynced?.([...seen]);
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
