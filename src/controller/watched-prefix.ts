/**
 * WatchedPrefix: the one owner of "mirror a key prefix of the metadata store in memory". A *Table
 * (MetadataTable, AclTable, ScramCredentialTable, ClientQuotaTable) gives it the store, the prefix and
 * an apply callback; it does one range read, applies it, watches on from that read's revision in
 * revision order, tracks the revision applied (waitForRevision: read-your-writes after a write) and
 * replaces a watch that cannot go on. The table only turns one key's put or delete into its own maps
 * and events.
 *
 * Replacing a watch (etcd compacted the revision it had to resume from, after a long cut): read the
 * prefix again, apply the difference as ordinary events (a delete for each key that is gone, a put
 * for each key whose mod revision changed) in one synchronous batch, and watch on from the new read.
 * Readers therefore never see the table empty or half rebuilt, and listeners cannot tell a
 * replacement from a burst of changes. A failed read or watch is retried with a growing delay until
 * stop(): a table that gave up would stay stale forever.
 *
 * It knows which keys it applied (key → mod revision) itself, so the difference does not depend on
 * each table being able to list what it holds.
 */
import { logger } from '../common/logger.js';
import type { KeyValue, MetadataStore, WatchEvent, Watcher } from './metadata-store.js';

export interface WatchedPrefixOptions {
  store: MetadataStore;
  /** Every key starting with it is mirrored (e.g. `<root>/acls/`). */
  prefix: string;
  /** Names the table in logs. */
  name: string;
  /**
   * Apply one key's change to the table. createRevision is given for puts from a range read (a put
   * of a new key seen on the watch was created at its modRevision).
   */
  apply: (event: WatchEvent, createRevision?: number) => void;
  /**
   * After each applied batch (one store transaction, the initial read, or a replacement's
   * difference), with the revision now applied: for tables that emit 'change' or bump a version.
   */
  afterBatch?: (revision: number) => void;
  /** First delay before retrying a failed replacement; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export class WatchedPrefix {
  readonly #store: MetadataStore;
  readonly #prefix: string;
  readonly #apply: (event: WatchEvent, createRevision?: number) => void;
  readonly #afterBatch: ((revision: number) => void) | undefined;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #log: ReturnType<typeof logger>;
  /** key → the mod revision applied for it: what a replacement diffs a new read against. */
  readonly #applied = new Map<string, number>();
  #revision = 0;
  #watcher: Watcher | null = null;
  /** Bumped per watch started, so a replaced watch's late deliveries are dropped. */
  #generation = 0;
  #waiters: { revision: number; resolve: () => void }[] = [];
  #stopped = false;
  #replacing = false;
  /** A watch that failed while a replacement was already under way (it must not be kept). */
  #failedGeneration = 0;
  #replacements = 0;

  constructor(options: WatchedPrefixOptions) {
    this.#store = options.store;
    this.#prefix = options.prefix;
    this.#apply = options.apply;
    this.#afterBatch = options.afterBatch;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.#log = logger(options.name);
  }

  get prefix(): string {
    return this.#prefix;
  }

  /** The store revision applied so far. */
  get revision(): number {
    return this.#revision;
  }

  /** How many times a failed watch was replaced (for tests and logs). */
  get replacements(): number {
    return this.#replacements;
  }

  /**
   * The initial read, applied, and the watch from its revision. Rejects if either fails (the caller
   * decides whether to start at all); failures after this are handled here.
   */
  async start(): Promise<void> {
    const { kvs, revision } = await this.#store.range(this.#prefix);
    this.#applySnapshot(kvs, revision);
    const generation = this.#generation + 1;
    const watcher = await this.#watch(revision);
    // Stopped meanwhile: nobody would close this watch later.
    if (this.#isStopped()) {
      await watcher.close();
      return;
    }
    // A watch that failed at once is being replaced already; the replacement owns #watcher.
    if (generation === this.#generation) this.#watcher = watcher;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const w = this.#watcher;
    this.#watcher = null;
    await w?.close();
  }

  /** Resolves once everything up to `revision` is applied (read-your-writes after a write). */
  waitForRevision(revision: number): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }));
  }

  #watch(afterRevision: number): Promise<Watcher> {
    const generation = ++this.#generation;
    return this.#store.watch(
      this.#prefix,
      afterRevision,
      (events) => {
        if (generation === this.#generation && !this.#stopped) this.#onEvents(events);
      },
      (err) => {
        if (generation !== this.#generation) return;
        if (this.#replacing) this.#failedGeneration = generation;
        else this.#onWatchError(err);
      },
    );
  }

  #onEvents(events: WatchEvent[]): void {
    for (const e of events) this.#applyOne(e);
    this.#advance(events[events.length - 1]!.modRevision);
  }

  #applyOne(e: WatchEvent, createRevision?: number): void {
    if (e.type === 'put') this.#applied.set(e.key, e.modRevision);
    else this.#applied.delete(e.key);
    this.#apply(e, createRevision);
  }

  #onWatchError(err: Error): void {
    if (this.#stopped) return;
    this.#log.warn({ err, revision: this.#revision }, 'watch failed; reading the prefix again');
    this.#replacing = true;
    void this.#replace();
  }

  /** Replace a failed watch: read everything, apply the difference, watch on. Retries until stopped. */
  async #replace(): Promise<void> {
    // Events of the failed watch that arrive from here on are dropped (its generation is over).
    this.#generation++;
    const old = this.#watcher;
    this.#watcher = null;
    await old?.close().catch(() => {});
    let delayMs = this.#retryDelayMs;
    while (!this.#isStopped()) {
      try {
        const { kvs, revision } = await this.#store.range(this.#prefix);
        if (this.#isStopped()) return;
        this.#applySnapshot(kvs, revision);
        const watcher = await this.#watch(revision);
        if (this.#isStopped()) {
          await watcher.close();
          return;
        }
        // It may have failed already (compacted again under a busy writer): read again.
        if (this.#failedGeneration === this.#generation) {
          await watcher.close().catch(() => {});
          throw new Error('the new watch failed at once');
        }
        this.#watcher = watcher;
        this.#replacements++;
        this.#replacing = false;
        return;
      } catch (err) {
        this.#log.warn({ err, retryInMs: delayMs }, 'replacing the watch failed; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, this.#maxRetryDelayMs);
      }
    }
  }

  /** Read through a call so that checks after an await are not taken for the one before it. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  /**
   * Apply a full read as the events that turn the current view into it, all in this synchronous
   * call: deletes for keys that are gone first, then puts for keys new or changed since applied
   * (each with its create revision). On an empty view (start) that is a put per key.
   */
  #applySnapshot(kvs: KeyValue[], revision: number): void {
    const present = new Set(kvs.map((kv) => kv.key));
    for (const key of [...this.#applied.keys()])
      if (!present.has(key)) this.#applyOne({ type: 'delete', key, modRevision: revision });
    for (const kv of kvs) {
      if (this.#applied.get(kv.key) === kv.modRevision) continue;
      this.#applyOne(
        { type: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision },
        kv.createRevision,
      );
    }
    this.#advance(revision);
  }

  #advance(revision: number): void {
    if (revision > this.#revision) this.#revision = revision;
    this.#afterBatch?.(this.#revision);
    const ready = this.#waiters.filter((w) => w.revision <= this.#revision);
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision);
    for (const w of ready) w.resolve();
  }
}
