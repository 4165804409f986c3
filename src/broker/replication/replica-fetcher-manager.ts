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
  /** Fetchers left without partitions, still ending their loop; shutdown waits for them too. */
  readonly #stopping = new Set<Promise<void>>();
  #stopped = false;

  constructor(o: FetcherManagerOptions) {
    this.#o = o;
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
      const stopping = f.stop().finally(() => this.#stopping.delete(stopping));
      this.#stopping.add(stopping);
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

  /** Stop every fetcher and wait until none is running (including those stopped earlier). */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#fetchers.values()];
    this.#fetchers.clear();
    this.#source.clear();
    await Promise.all([...all.map((f) => f.stop()), ...this.#stopping]);
  }
}
