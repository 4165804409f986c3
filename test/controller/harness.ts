/**
 * In-process controller nodes for tests: each node is what a broker runs of the controller side —
 * its own MetadataTable over the shared store, a BrokerSession holding its registration under a
 * lease, and (optionally) a Controller campaigning under that lease. On the embedded store a lease
 * never expires by itself; kill() revokes it, which deletes the registration (and the controller key,
 * when the node holds it), as etcd does when a broker dies.
 */
import { randomUUID } from 'node:crypto';
import { BrokerConfig } from '../../src/common/broker-config.js';
import { logger, setLogLevel } from '../../src/common/logger.js';
import { BrokerSession } from '../../src/controller/broker-session.js';
import { Controller } from '../../src/controller/controller.js';
import { ControlPlaneServer } from '../../src/controller/grpc/control-plane-server.js';
import type { MetadataStore, WatchEvent, Watcher } from '../../src/controller/metadata-store.js';
import { MetadataTable } from '../../src/controller/metadata-table.js';
import { ScramCredentialTable } from '../../src/controller/scram-table.js';
import type { BrokerRegistration, PartitionState } from '../../src/controller/records.js';

setLogLevel((process.env.SLUICE_LOG_LEVEL as 'info' | undefined) ?? 'silent');

export interface NodeOptions {
  id: number;
  store: MetadataStore;
  root: string;
  /** Run a Controller on this node (default true). */
  controller?: boolean;
  config?: Record<string, string>;
  rack?: string;
  ttlSeconds?: number;
  /** Serve the gRPC control plane on 127.0.0.1 (a free port), registered as the node's controlPort. */
  controlPlane?: boolean;
}

export class ControllerNode {
  readonly id: number;
  readonly store: MetadataStore;
  readonly table: MetadataTable;
  readonly session: BrokerSession;
  readonly controller: Controller | null;
  readonly #rack: string | null;
  readonly #server: ControlPlaneServer | null;
  #controlPort = 0;
  #dead = false;

  private constructor(o: NodeOptions) {
    this.id = o.id;
    this.store = o.store;
    this.table = new MetadataTable(o.store, o.root);
    const log = logger('test-node', { nodeId: o.id });
    this.session = new BrokerSession({
      store: o.store,
      table: this.table,
      ttlSeconds: o.ttlSeconds ?? 10,
      interBrokerListener: 'PLAINTEXT',
      log,
    });
    this.#rack = o.rack ?? null;
    this.controller =
      o.controller === false
        ? null
        : new Controller({
            nodeId: o.id,
            store: o.store,
            table: this.table,
            session: this.session,
            config: new BrokerConfig({ 'leader.imbalance.check.interval.seconds': '3600', ...o.config }),
            log,
            scramCredentials: new ScramCredentialTable(o.store, o.root),
          });
    this.#server =
      o.controlPlane && this.controller
        ? new ControlPlaneServer(this.controller, () => this.table.controller?.nodeId ?? -1, log)
        : null;
  }

  static async start(o: NodeOptions): Promise<ControllerNode> {
    const n = new ControllerNode(o);
    await n.table.start();
    if (n.#server) n.#controlPort = await n.#server.start('127.0.0.1', 0);
    await n.register();
    n.controller?.start();
    return n;
  }

  /** Write this node's registration (again, after kill(): a restarted broker). */
  async register(): Promise<void> {
    const reg: BrokerRegistration = {
      nodeId: this.id,
      endpoints: [
        { name: 'PLAINTEXT', host: '127.0.0.1', port: 19000 + this.id, securityProtocol: 'PLAINTEXT' },
      ],
      rack: this.#rack,
      incarnationId: randomUUID(),
      controlPort: this.#controlPort,
    };
    await this.session.register(reg);
  }

  /** The broker dies: its lease ends, so its registration (and controller key, if held) go. */
  async kill(): Promise<void> {
    if (this.#dead) return;
    this.#dead = true;
    this.controller?.stop();
    await this.#server?.stop();
    await this.session.close();
    await this.table.stop();
  }

  async close(): Promise<void> {
    await this.kill();
  }

  /** The controller, which this node must run. */
  get c(): Controller {
    if (!this.controller) throw new Error(`node ${this.id} runs no controller`);
    return this.controller;
  }
}

/** Poll `check` until it returns a value other than undefined, or fail after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function waitActive(node: ControllerNode, ms = 10_000): Promise<true> {
  return waitFor(
    `node ${node.id} to be the active controller`,
    () => (node.c.isActive ? true : undefined),
    ms,
  );
}

/** A partition's state as stored (not as some table saw it). */
export async function storedState(
  store: MetadataStore,
  root: string,
  topic: string,
  partition: number,
): Promise<PartitionState | null> {
  const kv = await store.get(`${root}/partitions/${topic}/${partition}`);
  return kv ? (JSON.parse(kv.value) as PartitionState) : null;
}

/** Every key under `root` with its value and revisions: what "nothing changed" is checked against. */
export async function snapshot(store: MetadataStore, root: string): Promise<string[]> {
  const { kvs } = await store.range(`${root}/`);
  return kvs.map((kv) => `${kv.key}@${kv.createRevision}/${kv.modRevision}=${kv.value}`);
}

/**
 * A real store whose watch deliveries can be held back: a node whose view lags behind the store
 * (paused, or slow to hear), while its reads and writes still reach the store at once.
 */
export class HeldWatchStore implements MetadataStore {
  readonly #inner: MetadataStore;
  #held: (() => void)[] | null = null;

  constructor(inner: MetadataStore) {
    this.#inner = inner;
  }

  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const deliver of held) deliver();
  }

  get: MetadataStore['get'] = (key) => this.#inner.get(key);
  range: MetadataStore['range'] = (prefix) => this.#inner.range(prefix);
  txn: MetadataStore['txn'] = (compares, ops) => this.#inner.txn(compares, ops);
  grantLease: MetadataStore['grantLease'] = (ttl) => this.#inner.grantLease(ttl);
  close: MetadataStore['close'] = () => this.#inner.close();

  watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    return this.#inner.watch(
      prefix,
      afterRevision,
      (events) => (this.#held ? this.#held.push(() => onEvents(events)) : onEvents(events)),
      onError,
    );
  }
}
