/**
 * OffsetFetch (key 9), versions 0-9. v0-7 ask for one group, v8+ for many (KIP-709). A null topic
 * list (v2+) means every partition the group has committed. Partitions without a commit answer
 * offset -1 and empty metadata, as Kafka does; v5+ return the committed leader epoch.
 */
import {
  decodeOffsetFetchRequest,
  encodeOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../../protocol/messages/offset-fetch.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { CommittedOffset } from '../group/group-metadata.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler, type RequestContext } from './api-handler.js';

interface PartitionOut {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export function offsetFetchHandler(b: BrokerServices) {
  const fetchGroup = (
    ctx: RequestContext,
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    requireStable: boolean,
  ): { errorCode: number; topics: { name: string; partitions: PartitionOut[] }[] } => {
    // Kafka: DESCRIBE on the group, then on each topic (named ones denied answer
    // TOPIC_AUTHORIZATION_FAILED, unnamed ones are left out).
    const r = b.auth.authorize(ctx, 'DESCRIBE', 'GROUP', groupId)
      ? b.groupCoordinator.handleFetchOffsets(
          groupId,
          topics?.map((t) => ({ name: t.name, partitions: t.partitionIndexes })) ?? null,
        )
      : { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, offsets: [] };
    const byTopic = new Map<string, PartitionOut[]>();
    const push = (topic: string, p: PartitionOut) => {
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(p);
    };
    if (r.errorCode !== ErrorCode.NONE) {
      // v0-1 have no top-level error: each requested partition carries it.
      for (const t of topics ?? [])
        for (const p of t.partitionIndexes)
          push(t.name, {
            partitionIndex: p,
            committedOffset: -1n,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode: r.errorCode,
          });
    } else {
      const found = (o: CommittedOffset): PartitionOut => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
        errorCode: ErrorCode.NONE,
      });
      // Keep the request's order when it named partitions.
      if (topics) {
        const got = new Map(r.offsets.map((o) => [`${o.topic}\u0000${o.partition}`, o]));
        for (const t of topics) {
          if (!byTopic.has(t.name)) byTopic.set(t.name, []);
          for (const p of t.partitionIndexes) {
            const o = got.get(`${t.name}\u0000${p}`);
            push(
              t.name,
              o
                ? found(o)
                : {
                    partitionIndex: p,
                    committedOffset: -1n,
                    committedLeaderEpoch: -1,
                    metadata: '',
                    errorCode: ErrorCode.NONE,
                  },
            );
          }
        }
      } else {
        for (const o of [...r.offsets].sort((x, y) =>
          x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition,
        ))
          push(o.topic, found(o));
      }
    }
    // KIP-447: a consumer asking for stable offsets waits (retries) while a transactional commit
    // for the partition is pending.
    if (requireStable && r.errorCode === ErrorCode.NONE)
      for (const [name, partitions] of byTopic)
        for (const p of partitions)
          if (b.groupCoordinator.hasPendingTxnOffset(groupId, name, p.partitionIndex)) {
            p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT;
            p.committedOffset = -1n;
            p.committedLeaderEpoch = -1;
            p.metadata = '';
          }
    if (r.errorCode === ErrorCode.NONE) {
      const describable = b.auth.filterAuthorized(ctx, 'DESCRIBE', 'TOPIC', byTopic.keys(), {
        logIfDenied: topics !== null,
      });
      for (const [name, partitions] of byTopic) {
        if (describable.has(name)) continue;
        if (topics === null) byTopic.delete(name);
        else
          for (const p of partitions) {
            p.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
            p.committedOffset = -1n;
            p.committedLeaderEpoch = -1;
            p.metadata = '';
          }
      }
    }
    return {
      errorCode: r.errorCode,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    };
  };

  return defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
    apiKey: 9,
    name: 'OffsetFetch',
    minVersion: 0,
    maxVersion: 9,
    decode: decodeOffsetFetchRequest,
    encode: encodeOffsetFetchResponse,
    handle(req, ctx) {
      if (ctx.apiVersion >= 8) {
        return {
          throttleTimeMs: 0,
          groups: (req.groups ?? []).map((g) => {
            const r = fetchGroup(ctx, g.groupId, g.topics, req.requireStable ?? false);
            return {
              groupId: g.groupId,
              errorCode: r.errorCode,
              topics: r.errorCode === ErrorCode.NONE ? r.topics : [],
            };
          }),
        };
      }
      const r = fetchGroup(ctx, req.groupId ?? '', req.topics ?? null, req.requireStable ?? false);
      if (ctx.apiVersion >= 2)
        return {
          throttleTimeMs: 0,
          errorCode: r.errorCode,
          topics: r.errorCode === ErrorCode.NONE ? r.topics : [],
        };
      return { throttleTimeMs: 0, topics: r.topics };
    },
  });
}
