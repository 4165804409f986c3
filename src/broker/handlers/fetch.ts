/**
 * Fetch (key 1), versions 0-12 (v13+ names topics by id; capping at 12 serves every client, see
 * kafka-protocol/CLIENTS.md). Consumers read up to the high watermark (read_uncommitted) or the last
 * stable offset (read_committed); records are the segment file's bytes. Fetch sessions (KIP-227) are
 * answered with session id 0, which clients treat as "full fetch every time".
 */
import {
  decodeFetchRequest,
  encodeFetchResponse,
  type FetchRequest,
  type FetchResponse,
} from '../../protocol/messages/fetch.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import type { FetchPartitionResult } from '../replica-manager.js';

export function fetchHandler(b: BrokerServices) {
  return defineHandler<FetchRequest, FetchResponse>({
    apiKey: 1,
    name: 'Fetch',
    minVersion: 0,
    maxVersion: 12,
    decode: decodeFetchRequest,
    encode: encodeFetchResponse,
    sizeHint: (res) => {
      let n = 64;
      for (const t of res.responses) {
        n += 16 + (t.topic?.length ?? 16);
        for (const p of t.partitions) n += 64 + (p.records?.length ?? 0);
      }
      return n;
    },
    async handle(req, ctx) {
      const isolationLevel = req.isolationLevel ?? 0;
      const partitions = req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.topic ?? '',
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: p.partitionMaxBytes,
          currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
          lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
        })),
      );
      // v15+ moved the replica id into ReplicaState; below that the decoder fills ReplicaState with
      // its default (-1), so it must not shadow ReplicaId.
      const replicaId = ctx.apiVersion >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1);
      // Authorization as Kafka's handleFetchRequest: a follower needs CLUSTER_ACTION on the cluster
      // (else every partition is TOPIC_AUTHORIZATION_FAILED), a consumer READ on each topic.
      const readable =
        replicaId >= 0
          ? b.auth.authorizeCluster(ctx, 'CLUSTER_ACTION')
            ? null
            : new Set<string>()
          : b.auth.filterAuthorized(
              ctx,
              'READ',
              'TOPIC',
              partitions.map((p) => p.topic),
            );
      const allowed = readable ? partitions.filter((p) => readable.has(p.topic)) : partitions;
      // Client quotas (consumer_byte_rate): a follower's fetch is exempt; a consumer's response is
      // no bigger than its quota allows in one window (Kafka's getMaxValueInQuotaWindow).
      const quota = ctx.quota;
      const fetchQuota = quota?.quotas.fetch;
      if (quota && replicaId >= 0) quota.exempt = true;
      const quotaMaxBytes =
        quota && fetchQuota && replicaId < 0
          ? Math.min(
              0x7fffffff,
              Math.floor(fetchQuota.maxValueInQuotaWindow(quota.identity.user, quota.identity.clientId)),
            )
          : 0x7fffffff;
      // v0-2 had no response limit; keep Kafka's behaviour of honouring only partition limits there.
      const maxBytes = Math.min(
        ctx.apiVersion >= 3
          ? Math.min(req.maxBytes ?? 0x7fffffff, b.config.int('fetch.max.bytes'))
          : 0x7fffffff,
        quotaMaxBytes,
      );
      const fetching = b.replicaManager.fetchMessages({
        replicaId,
        maxWaitMs: req.maxWaitMs,
        minBytes: Math.min(req.minBytes, maxBytes),
        maxBytes,
        isolationLevel,
        partitions: allowed,
      });
      const fetched = quota ? await quota.waiting(fetching) : await fetching;
      let f = 0;
      const results = partitions.map((p): FetchPartitionResult =>
        !readable || readable.has(p.topic)
          ? fetched[f++]!
          : {
              topic: p.topic,
              partition: p.partition,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              highWatermark: -1n,
              lastStableOffset: -1n,
              logStartOffset: -1n,
              records: null,
            },
      );
      if (quota && fetchQuota && replicaId < 0) {
        // Kafka records the response size, then, when either the fetch or the request quota asks
        // for a throttle, takes it back and answers no data (the client fetches it again later).
        const { user, clientId } = quota.identity;
        let size = 0;
        for (const r of results) size += r.records?.length ?? 0;
        const bandwidthMs = fetchQuota.recordAndGetThrottleTimeMs(user, clientId, size);
        const requestMs = quota.requestThrottleMs();
        const throttleTimeMs = Math.max(bandwidthMs, requestMs);
        if (throttleTimeMs > 0) {
          fetchQuota.unrecord(user, clientId, size);
          quota.setBandwidthThrottle(fetchQuota, bandwidthMs);
          return { throttleTimeMs, errorCode: ErrorCode.NONE, sessionId: 0, responses: [] };
        }
      }
      let i = 0;
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        sessionId: 0,
        responses: req.topics.map((t) => ({
          topic: t.topic ?? '',
          partitions: t.partitions.map(() => {
            const r = results[i++]!;
            if (r.errorCode !== ErrorCode.NONE) b.metrics.failedFetch.inc({ topic: r.topic });
            return {
              partitionIndex: r.partition,
              errorCode: r.errorCode,
              highWatermark: r.highWatermark,
              lastStableOffset: r.lastStableOffset,
              logStartOffset: r.logStartOffset,
              // read_committed (v4+): the aborted transactions the records may hold, for the
              // consumer to drop their batches.
              abortedTransactions:
                isolationLevel === 1
                  ? (r.abortedTransactions ?? []).map((t) => ({
                      producerId: t.producerId,
                      firstOffset: t.firstOffset,
                    }))
                  : null,
              preferredReadReplica: -1,
              ...(r.divergingEpoch ? { divergingEpoch: r.divergingEpoch } : {}),
              records: r.records ?? Buffer.alloc(0),
            };
          }),
        })),
      };
    },
  });
}
