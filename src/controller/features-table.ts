/**
 * The cluster's finalized features: one document in the metadata store, `<root>/features`
 * ({"levels":{"metadata.version":33,…}}; a level of 0 is absent), so every broker reports the same
 * levels and they survive restarts. FeaturesTable is every broker's view of it (a read plus a watch of
 * that one key, kept by a WatchedPrefix, which also replaces a watch etcd compacted away); `bootstrap` writes the first levels when a cluster has none, and `update` changes
 * them with a compare-and-set on the key's revision, so two concurrent UpdateFeatures cannot lose
 * each other's change. The key's modification revision is the finalized-features epoch that
 * ApiVersions reports (it only grows).
 */
import type { MetadataStore, WatchEvent } from './metadata-store.js';
import { WatchedPrefix } from './watched-prefix.js';
import { bootstrapLevels } from './features.js';
import { logger } from '../common/logger.js';

export interface FinalizedFeaturesDoc {
  levels: Record<string, number>;
}

export class FeaturesTable {
  readonly key: string;
  readonly #store: MetadataStore;
  readonly #log = logger('features-table');
  #levels: Readonly<Record<string, number>> = {};
  /** Modification revision of the key; -1 while there is none. */
  #epoch = -1;
  readonly #mirror: WatchedPrefix;

  constructor(store: MetadataStore, root: string) {
    this.#store = store;
    this.key = `${root}/features`;
    this.#mirror = new WatchedPrefix({
      store,
      // A prefix read of the one key; other keys that happen to start with it are not ours.
      prefix: this.key,
      name: 'features-table',
      apply: (e) => {
        if (e.key === this.key) this.#apply(e);
      },
    });
  }

  /** The finalized levels (0 levels absent). */
  get levels(): Readonly<Record<string, number>> {
    return this.#levels;
  }

  /** The finalized-features epoch: the key's modification revision, -1 when unknown. */
  get epoch(): number {
    return this.#epoch;
  }

  start(): Promise<void> {
    return this.#mirror.start();
  }

  stop(): Promise<void> {
    return this.#mirror.stop();
  }

  /** Write the bootstrap levels when the cluster has none yet (a new cluster, or one from before features). */
  async bootstrap(): Promise<void> {
    if (this.#epoch >= 0) return;
    const doc: FinalizedFeaturesDoc = { levels: bootstrapLevels() };
    const r = await this.#store.txn(
      [{ key: this.key, target: 'exists', value: false }],
      [{ type: 'put', key: this.key, value: JSON.stringify(doc) }],
    );
    // Lost the race to another broker: its write arrives on the watch.
    if (r.succeeded) await this.#waitFor(r.revision);
    else if (this.#epoch < 0) {
      const kv = await this.#store.get(this.key);
      if (kv) await this.#waitFor(kv.modRevision);
    }
  }

  /**
   * Replace the levels if nobody changed them since `epoch` was read. Returns false when they were
   * changed concurrently (the caller reads again and retries).
   */
  async update(epoch: number, levels: Record<string, number>): Promise<boolean> {
    const doc: FinalizedFeaturesDoc = { levels };
    const r = await this.#store.txn(
      epoch < 0
        ? [{ key: this.key, target: 'exists', value: false }]
        : [{ key: this.key, target: 'modRevision', op: '=', value: epoch }],
      [{ type: 'put', key: this.key, value: JSON.stringify(doc) }],
    );
    if (r.succeeded) await this.#waitFor(r.revision);
    return r.succeeded;
  }

  /** The write at `revision` was to this key, so once it is applied the levels and epoch are its. */
  #waitFor(revision: number): Promise<void> {
    return this.#mirror.waitForRevision(revision);
  }

  #apply(e: WatchEvent): void {
    if (e.type === 'delete') {
      this.#levels = {};
      this.#epoch = -1;
      return;
    }
    try {
      const doc = JSON.parse(e.value!) as Partial<FinalizedFeaturesDoc>;
      const levels: Record<string, number> = {};
      for (const [k, v] of Object.entries(doc.levels ?? {})) if (Number.isInteger(v) && v > 0) levels[k] = v;
      this.#levels = levels;
      this.#epoch = e.modRevision;
    } catch (err) {
      this.#log.error({ key: e.key, err }, 'ignoring a finalized-features document that is not JSON');
    }
  }
}
