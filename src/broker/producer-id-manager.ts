/**
 * ProducerIdManager: hands out cluster-unique producer ids for InitProducerId. Ids come in blocks
 * reserved in the metadata store with a compare-and-set on <root>/producer-ids (Kafka's
 * ProducerIdControlManager), so brokers never hand out the same id, even across restarts.
 */
import type { MetadataStore } from '../controller/metadata-store.js';

const BLOCK_SIZE = 1000n;

export class ProducerIdManager {
  readonly #store: MetadataStore;
  readonly #key: string;
  #next = 0n;
  #end = 0n;
  #pending: Promise<void> | null = null;

  constructor(store: MetadataStore, root: string) {
    this.#store = store;
    this.#key = `${root}/producer-ids`;
  }

  async #reserveBlock(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const cur = await this.#store.get(this.#key);
      const start = cur ? BigInt((JSON.parse(cur.value) as { next: string }).next) : 0n;
      const next = start + BLOCK_SIZE;
      const res = await this.#store.txn(
        cur
          ? [{ key: this.#key, target: 'modRevision', op: '=', value: cur.modRevision }]
          : [{ key: this.#key, target: 'exists', value: false }],
        [{ type: 'put', key: this.#key, value: JSON.stringify({ next: next.toString() }) }],
      );
      if (res.succeeded) {
        this.#next = start;
        this.#end = next;
        return;
      }
    }
    throw new Error('could not reserve a producer id block: too much contention');
  }

  async generate(): Promise<bigint> {
    while (this.#next >= this.#end) {
      this.#pending ??= this.#reserveBlock().finally(() => (this.#pending = null));
      await this.#pending;
    }
    return this.#next++;
  }
}
