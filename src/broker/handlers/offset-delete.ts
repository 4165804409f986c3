/**
 * OffsetDelete (key 47), version 0 (KIP-496): deletes a group's committed offsets for partitions of
 * topics the group does not consume; those it subscribes to get GROUP_SUBSCRIBED_TO_TOPIC.
 */
import {
  decodeOffsetDeleteRequest,
  encodeOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/messages/offset-delete.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { offsetKey } from '../group/group-metadata.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function offsetDeleteHandler(b: BrokerServices) {
  return defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
    apiKey: 47,
    name: 'OffsetDelete',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeOffsetDeleteRequest,
    encode: encodeOffsetDeleteResponse,
    async handle(req, ctx) {
      // Kafka: DELETE on the group, then READ on each topic.
      if (!b.auth.authorize(ctx, 'DELETE', 'GROUP', req.groupId))
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
      const readable = b.auth.filterAuthorized(
        ctx,
        'READ',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      const partitions = req.topics
        .filter((t) => readable.has(t.name))
        .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
      const r = await b.groupCoordinator.deleteOffsets(req.groupId, partitions);
      if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
      return {
        errorCode: ErrorCode.NONE,
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: readable.has(t.name)
              ? (r.partitions.get(offsetKey(t.name, p.partitionIndex)) ?? ErrorCode.NONE)
              : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          })),
        })),
      };
    },
  });
}
