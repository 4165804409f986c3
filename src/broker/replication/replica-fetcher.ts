/**
 * ReplicaFetcher: one per source broker (Kafka's ReplicaFetcherThread, as an async loop). It fetches
 * every partition this broker follows from that leader with the Kafka Fetch API (v12, replicaId =
 * this broker, currentLeaderEpoch, lastFetchedEpoch) and appends what comes back as a follower.
 *
 * Truncation (KIP-101/KIP-320): each fetch carries the epoch of the follower's last batch. When the
 * leader's log diverges from there, the response names the leader's end offset for the largest
 * epoch <= that one (divergingEpoch) and the follower truncates:
 *   - when it knows that epoch too, to the smaller of the two end offsets: done;
 *   - otherwise to its own end offset of the largest epoch below the leader's, and asks again (the
 *     next fetch carries the older epoch), until both logs agree.
 * OFFSET_OUT_OF_RANGE: below the leader's log start → start over empty at it; past the leader's end
 * (an unclean leader) → truncate to the leader's high watermark.
 */
import type { Logger } from '../../common/logger.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type { FetchRequest } from '../../protocol/messages/fetch.js';
import { UNDEFINED_EPOCH } from '../../storage/leader-epoch-file-cache.js';
import type { Partition } from '../partition.js';
import { BrokerClient, type Endpoint } from './broker-client.js';
import type { ClientSecurity } from '../security/client-security.js';
import type { ReplicaQuota } from './replication-quota.js';

export const REPLICA_FETCH_VERSION = 12;
/**
 * How long a fetcher whose partitions are all held back by the follower quota waits before it looks
 * again. Kafka waits replica.fetch.backoff.ms (1 s); a shorter wait keeps the rate closer to the bound.
 */
const THROTTLED_BACKOFF_MS = 100;

export interface FetcherOptions {
  nodeId: number;
  sourceBroker: number;
  endpoint: () => Endpoint | null;
  maxWaitMs: number;
  maxBytes: number;
  partitionMaxBytes: number;
  backoffMs: number;
  requestTimeoutMs: number;
  log: Logger;
  /** The inter-broker listener's TLS/SASL (default: PLAINTEXT). */
  security?: ClientSecurity;
  /** The follower replication throttle (KIP-73); none: nothing is throttled. */
  quota?: ReplicaQuota;
}

interface FetchState {
  partition: Partition;
  /** The leader epoch this broker follows the partition in. */
  leaderEpoch: number;
  /** Do not fetch before (after an error). */
  delayUntil: number;
  /** Leader's high watermark minus our log end after the last response (replica fetcher lag). */
  lag: bigint;
  /** Caught up with the leader's high watermark at the last response (Kafka's isReplicaInSync). */
  inSync: boolean;
}

export class ReplicaFetcher {
  readonly sourceBroker: number;
  readonly #o: FetcherOptions;
  readonly #log: Logger;
  readonly #partitions = new Map<string, FetchState>();
  #clientRef: BrokerClient | null = null;
  #running = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(o: FetcherOptions) {
    this.#o = o;
    this.sourceBroker = o.sourceBroker;
    this.#log = o.log.child({ component: 'replica-fetcher', sourceBroker: o.sourceBroker });
  }

  get size(): number {
    return this.#partitions.size;
  }

  keys(): string[] {
    return [...this.#partitions.keys()];
  }

  /** Largest fetcher lag over this fetcher's partitions, in messages. */
  maxLag(): number {
    let m = 0n;
    for (const s of this.#partitions.values()) if (s.lag > m) m = s.lag;
    return Number(m);
  }

  lagOf(key: string): number | undefined {
    const s = this.#partitions.get(key);
    return s ? Number(s.lag) : undefined;
  }

  /** Follow `p` from this source at its current leader epoch (replaces an older entry). */
  addPartition(p: Partition): void {
    const cur = this.#partitions.get(p.key);
    if (cur && cur.partition === p && cur.leaderEpoch === p.leaderEpoch) return;
    this.#partitions.set(p.key, {
      partition: p,
      leaderEpoch: p.leaderEpoch,
      delayUntil: 0,
      lag: 0n,
      inSync: false,
    });
    this.#wakeUp();
  }

  removePartition(key: string): boolean {
    return this.#partitions.delete(key);
  }

  has(key: string): boolean {
    return this.#partitions.has(key);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run().catch((err: unknown) =>
      this.#log.error({ err }, 'replica fetcher stopped on an unexpected error'),
    );
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#clientRef?.close();
    this.#wakeUp();
    await this.#loop;
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  #client$(): BrokerClient | null {
    const ep = this.#o.endpoint();
    if (!ep) return null;
    if (!this.#clientRef)
      this.#clientRef = new BrokerClient(ep, {
        clientId: `sluice-replica-fetcher-${this.#o.nodeId}`,
        ...(this.#o.security ? { security: this.#o.security } : {}),
      });
    else this.#clientRef.setEndpoint(ep);
    return this.#clientRef;
  }

  /** The fetch loop: one round after another until stopped. */
  async #run(): Promise<void> {
    while (this.#running) await this.#fetchRound();
  }

  /** Whether stop() was called; a method, so a check after an await reads the field anew. */
  #stopped(): boolean {
    return !this.#running;
  }

  /**
   * One round: fetch every partition that is due from the leader and apply the answer, or sleep
   * until one is due. Returns early when stopped while the request was out.
   */
  async #fetchRound(): Promise<void> {
    const now = Date.now();
    const ready: FetchState[] = [];
    let nextDelay = Infinity;
    const quota = this.#o.quota;
    let exceeded: boolean | undefined;
    let heldBack = false;
    for (const s of this.#partitions.values()) {
      if (s.partition.isClosed || s.partition.isLeader) continue;
      if (s.delayUntil > now) {
        nextDelay = Math.min(nextDelay, s.delayUntil - now);
        continue;
      }
      // Kafka's shouldFollowerThrottle: a throttled partition not caught up is left out of the fetch
      // while the follower's replication quota is exceeded.
      if (quota && !s.inSync && quota.isThrottled(s.partition.topic, s.partition.index)) {
        exceeded ??= quota.isQuotaExceeded();
        if (exceeded) {
          heldBack = true;
          quota.markHeldBack?.();
          continue;
        }
      }
      ready.push(s);
    }
    // Kafka's fetcher backs off (replica.fetch.backoff.ms) when the quota left nothing to fetch.
    if (heldBack) nextDelay = Math.min(nextDelay, THROTTLED_BACKOFF_MS);
    if (ready.length === 0) {
      await this.#sleep(Number.isFinite(nextDelay) ? nextDelay : 60_000);
      return;
    }
    const client = this.#client$();
    if (!client) {
      // The leader is not registered (it died); the controller will elect another.
      await this.#sleep(this.#o.backoffMs);
      return;
    }
    const sent = new Map(
      ready.map((s) => [
        s.partition.key,
        { state: s, epoch: s.leaderEpoch, fetchOffset: s.partition.logEndOffset },
      ]),
    );
    const byTopic = new Map<string, FetchRequest['topics'][number]>();
    for (const { state, fetchOffset } of sent.values()) {
      const p = state.partition;
      let t = byTopic.get(p.topic);
      if (!t) byTopic.set(p.topic, (t = { topic: p.topic, partitions: [] }));
      t.partitions.push({
        partition: p.index,
        currentLeaderEpoch: state.leaderEpoch,
        fetchOffset,
        lastFetchedEpoch: p.latestEpoch,
        logStartOffset: p.logStartOffset,
        partitionMaxBytes: this.#o.partitionMaxBytes,
      });
    }
    const req: FetchRequest = {
      clusterId: null,
      replicaId: this.#o.nodeId,
      maxWaitMs: this.#o.maxWaitMs,
      minBytes: 1,
      maxBytes: this.#o.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()],
      forgottenTopicsData: [],
      rackId: '',
    };
    let res;
    try {
      res = await client.request(1, REPLICA_FETCH_VERSION, req, this.#o.maxWaitMs + this.#o.requestTimeoutMs);
    } catch (err) {
      if (this.#stopped()) return;
      this.#log.info({ err: (err as Error).message }, 'fetch from leader failed; backing off');
      await this.#sleep(this.#o.backoffMs);
      return;
    }
    if (this.#stopped()) return;
    let failed = false;
    for (const t of res.responses) {
      for (const pr of t.partitions) {
        const key = `${t.topic}-${pr.partitionIndex}`;
        const s = sent.get(key);
        if (!s) continue;
        const cur = this.#partitions.get(key);
        const p = s.state.partition;
        // Moved on while the fetch was out (new leader/epoch, removed, log closed): drop the answer.
        if (
          cur !== s.state ||
          cur.leaderEpoch !== s.epoch ||
          p.leaderEpoch !== s.epoch ||
          p.isLeader ||
          p.isClosed
        )
          continue;
        if (p.logEndOffset !== s.fetchOffset) continue;
        try {
          if (!this.#processPartition(cur, pr, s.fetchOffset)) failed = true;
        } catch (err) {
          failed = true;
          cur.delayUntil = Date.now() + this.#o.backoffMs;
          this.#log.warn({ err, partition: key }, 'could not apply the leader data; retrying after backoff');
        }
      }
    }
    if (failed && ![...this.#partitions.values()].some((s) => s.delayUntil <= Date.now()))
      await this.#sleep(Math.min(this.#o.backoffMs, 100));
  }

  /** Returns false when the partition must wait (error). */
  #processPartition(
    s: FetchState,
    pr: {
      errorCode: number;
      highWatermark: bigint;
      logStartOffset?: bigint;
      divergingEpoch?: { epoch: number; endOffset: bigint };
      records: Buffer | null;
    },
    fetchOffset: bigint,
  ): boolean {
    const p = s.partition;
    switch (pr.errorCode) {
      case ErrorCode.NONE: {
        const div = pr.divergingEpoch;
        if (div && (div.epoch >= 0 || div.endOffset >= 0n)) {
          this.#truncateOnDivergence(p, div);
          return true;
        }
        if (pr.records && pr.records.length > 0) {
          p.appendRecordsAsFollower(pr.records);
          if (this.#o.quota?.isThrottled(p.topic, p.index)) this.#o.quota.record(pr.records.length);
        }
        p.updateFollowerHighWatermark(pr.highWatermark);
        p.maybeIncrementLogStartOffset(pr.logStartOffset ?? -1n);
        const lag = pr.highWatermark - p.logEndOffset;
        s.lag = lag > 0n ? lag : 0n;
        s.inSync = lag <= 0n;
        return true;
      }
      case ErrorCode.OFFSET_OUT_OF_RANGE: {
        const leaderStart = pr.logStartOffset ?? -1n;
        if (leaderStart >= 0n && fetchOffset < leaderStart) {
          this.#log.warn(
            { partition: p.key, fetchOffset, leaderStart },
            'behind the leader log start: starting over there',
          );
          p.truncateFullyAndStartAt(leaderStart);
        } else if (pr.highWatermark >= 0n && fetchOffset > pr.highWatermark) {
          this.#log.warn(
            { partition: p.key, fetchOffset, leaderHighWatermark: pr.highWatermark },
            'past the leader log end: truncating to its high watermark',
          );
          p.truncateTo(pr.highWatermark);
        } else {
          s.delayUntil = Date.now() + this.#o.backoffMs;
          return false;
        }
        return true;
      }
      default:
        // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION...: the metadata
        // will tell this broker what changed; until then retry after a backoff.
        this.#log.debug({ partition: p.key, error: errorName(pr.errorCode) }, 'fetch error from leader');
        s.delayUntil = Date.now() + this.#o.backoffMs;
        return false;
    }
  }

  #truncateOnDivergence(p: Partition, div: { epoch: number; endOffset: bigint }): void {
    const leo = p.logEndOffset;
    const { target, done } = divergenceTruncation(p, div);
    this.#log.info(
      {
        partition: p.key,
        divergingEpoch: div.epoch,
        leaderEndOffset: div.endOffset,
        from: leo,
        to: target,
        done,
      },
      'truncating after divergence from the leader',
    );
    p.truncateTo(target);
  }
}

/**
 * Where a follower truncates when the leader reports a diverging epoch (Kafka's
 * AbstractFetcherThread.getOffsetTruncationState). `done` is false when the follower does not have
 * the leader's epoch: it truncates to the end of its largest older epoch and asks again.
 */
export function divergenceTruncation(
  replica: {
    logEndOffset: bigint;
    highWatermark: bigint;
    endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint };
  },
  div: { epoch: number; endOffset: bigint },
): { target: bigint; done: boolean } {
  const leo = replica.logEndOffset;
  let target: bigint;
  let done = true;
  if (div.epoch === UNDEFINED_EPOCH || div.endOffset < 0n) {
    // The leader knows nothing of our epochs: the high watermark is all that is known to match.
    target = replica.highWatermark;
  } else {
    const local = replica.endOffsetForEpoch(div.epoch);
    if (local.epoch === UNDEFINED_EPOCH || local.endOffset < 0n) {
      target = div.endOffset;
    } else if (local.epoch === div.epoch) {
      target = local.endOffset < div.endOffset ? local.endOffset : div.endOffset;
    } else {
      target = local.endOffset;
      done = false;
    }
  }
  return { target: target > leo ? leo : target, done };
}
