/**
 * ReplicaFetcherManager: which partitions this broker follows, and from whom (Kafka's
 * ReplicaFetcherManager). One ReplicaFetcher per leader broker; a partition moves between fetchers
 * when its leader changes and leaves them when this broker becomes its leader or stops hosting it.
 * A fetcher with no partitions left is stopped.
 */
import type { MetadataTable } from '../../controller/metadata-table.js';
import { endpointFor } from '../../controller/records.js';
import type { Partition } from '../partition.js';
import { ReplicaFetcher, type FetcherOptions } from './replica-fetcher.js';
import type { ClientSecurity } from '../security/client-security.js';

/** A fetcher's settings, shared by all; the manager supplies each one's source and endpoint. */
export interface FetcherManagerOptions extends Omit<FetcherOptions, 'sourceBroker' | 'endpoint'> {
  table: MetadataTable;
  /** Leaders are reached on their endpoint for this broker's inter.broker.listener.name (Kafka's rule). */
  interBrokerListenerName: string;
}

export class ReplicaFetcherManager {
  readonly #o: FetcherManagerOptions;
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  /** partition key → source broker */
  readonly #source = new Map<string, number>();
  #stopped = false;
  #security: ClientSecurity | undefined;

  constructor(o: FetcherManagerOptions) {
    this.#o = o;
    this.#security = o.security;
  }

  /**
   * The inter-broker listener's TLS/SASL for fetchers started from now on. Set by KafkaServer before
   * ReplicaManager starts (the ReplicaManager builds this manager without it); once the
   * ReplicaManager passes `security` in the options, this goes.
   */
  setClientSecurity(security: ClientSecurity): void {
    this.#security = security;
  }

  /** Fetch `p` from its current leader (a follower partition); moves it off its previous source. */
  addOrUpdate(p: Partition): void {
    if (this.#stopped || p.isLeader || p.leaderId < 0) {
      this.remove(p.key);
      return;
    }
    const prev = this.#source.get(p.key);
    if (prev !== undefined && prev !== p.leaderId) this.remove(p.key);
    let f = this.#fetchers.get(p.leaderId);
    if (!f) {
      const source = p.leaderId;
      const { table, interBrokerListenerName, ...shared } = this.#o;
      f = new ReplicaFetcher({
        ...shared,
        ...(this.#security ? { security: this.#security } : {}),
        sourceBroker: source,
        endpoint: () => {
          const b = table.brokers.get(source);
          const ep = b ? endpointFor(b, interBrokerListenerName) : undefined;
          return ep ? { host: ep.host, port: ep.port } : null;
        },
      });
      this.#fetchers.set(source, f);
      f.start();
    }
    f.addPartition(p);
    this.#source.set(p.key, p.leaderId);
  }

  remove(key: string): void {
    const source = this.#source.get(key);
    if (source === undefined) return;
    this.#source.delete(key);
    const f = this.#fetchers.get(source);
    if (!f) return;
    f.removePartition(key);
    if (f.size === 0) {
      this.#fetchers.delete(source);
      void f.stop();
    }
  }

  sourceOf(key: string): number | undefined {
    return this.#source.get(key);
  }

  get fetcherCount(): number {
    return this.#fetchers.size;
  }

  /** Per source broker: the largest lag (messages behind the leader's high watermark). */
  lags(): { sourceBroker: number; maxLag: number }[] {
    return [...this.#fetchers.values()].map((f) => ({ sourceBroker: f.sourceBroker, maxLag: f.maxLag() }));
  }

  async shutdown(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#fetchers.values()];
    this.#fetchers.clear();
    this.#source.clear();
    await Promise.all(all.map((f) => f.stop()));
  }
}
