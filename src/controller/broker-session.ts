/**
 * BrokerSession: a broker's registration in the metadata store, and (cluster mode) the lease it is
 * bound to. In cluster mode the lease lasts broker.session.timeout.ms: when the broker dies or is
 * paused that long, etcd deletes the registration (and the controller key, when this broker holds
 * it, which lives under the same lease) and the controller moves its leaderships.
 *
 * A lease lost while the broker runs (a long pause, a cut from etcd) is replaced: the session grants
 * a new lease, writes the registration again as a restarted broker would, and then tells its
 * listeners (`onRenewed`), so the broker's Controller campaigns under the new lease. The broker's
 * lifecycle: construct, register() once its listeners are bound, close() at shutdown.
 */
import type { Logger } from '../common/logger.js';
import type { Lease, MetadataStore } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import { encodeBrokerRegistration, type BrokerRegistration } from './records.js';

/** The lease the broker's registration (and the controller key it may hold) is bound to. */
export interface RegistrationLease {
  /** The current lease; there is one from register() on. */
  readonly lease: Lease;
  /** `handler` hears of each new lease, once the registration is written under it. */
  onRenewed(handler: (lease: Lease) => void): void;
}

export interface BrokerSessionOptions {
  store: MetadataStore;
  table: MetadataTable;
  /** The lease's TTL (broker.session.timeout.ms in seconds); null on a single node: no lease. */
  ttlSeconds: number | null;
  /** The listener whose endpoint the registration repeats as host/port (inter.broker.listener.name). */
  interBrokerListener: string;
  log: Logger;
}

const RETRY_MS = 1000;

export class BrokerSession implements RegistrationLease {
  readonly #o: BrokerSessionOptions;
  readonly #log: Logger;
  readonly #renewed: ((lease: Lease) => void)[] = [];
  #registration: BrokerRegistration | null = null;
  #lease: Lease | null = null;
  #closed = false;

  constructor(o: BrokerSessionOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'broker-session' });
  }

  get lease(): Lease {
    if (!this.#lease) throw new Error('the broker has no lease: not registered yet, or a single node');
    return this.#lease;
  }

  onRenewed(handler: (lease: Lease) => void): void {
    this.#renewed.push(handler);
  }

  /** Write the registration (under a new lease in cluster mode) and wait until the table has it. */
  async register(registration: BrokerRegistration): Promise<void> {
    this.#registration = registration;
    await this.#write();
  }

  async #write(): Promise<void> {
    const { store, table, ttlSeconds, interBrokerListener } = this.#o;
    let lease: Lease | null = null;
    if (ttlSeconds !== null) {
      lease = await store.grantLease(ttlSeconds);
      lease.onLost((err) => this.#onLost(lease!, err));
      this.#lease = lease;
    }
    try {
      const r = await store.txn(
        [],
        [
          {
            type: 'put',
            key: table.keys.broker(this.#registration!.nodeId),
            value: encodeBrokerRegistration(this.#registration!, interBrokerListener),
            ...(lease ? { lease: lease.id } : {}),
          },
        ],
      );
      await table.waitForRevision(r.revision);
    } catch (err) {
      // Not kept alive for nothing: the next attempt grants its own.
      if (lease) {
        if (this.#lease === lease) this.#lease = null;
        await lease.revoke();
      }
      throw err;
    }
  }

  #onLost(lease: Lease, err: Error): void {
    if (this.#closed || lease !== this.#lease) return;
    this.#log.warn({ err }, 'registration lease lost; registering again');
    const again = (): void => {
      if (this.#closed) return;
      this.#write().then(
        () => {
          for (const h of this.#renewed) h(this.lease);
        },
        (e: unknown) => {
          this.#log.error({ err: e }, 'could not register again; retrying');
          setTimeout(again, RETRY_MS).unref();
        },
      );
    };
    again();
  }

  /**
   * Stop renewing. In cluster mode revoking the lease removes the registration (and the controller
   * key, if held) at once instead of after the TTL; a single node keeps its registration (it is the
   * cluster).
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#lease?.revoke();
  }
}
