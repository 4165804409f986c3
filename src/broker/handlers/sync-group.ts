/**
 * SyncGroup (key 14), versions 0-5. Followers wait until the leader's assignment is stored; the
 * leader's request ends the rebalance. v5 carries protocol type and name, checked against the group's.
 */
import {
  decodeSyncGroupRequest,
  encodeSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/messages/sync-group.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function syncGroupHandler(b: BrokerServices) {
  return defineHandler<SyncGroupRequest, SyncGroupResponse>({
    apiKey: 14,
    name: 'SyncGroup',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeSyncGroupRequest,
    encode: encodeSyncGroupResponse,
    async handle(req, ctx) {
      // Kafka: READ on the group.
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          protocolType: null,
          protocolName: null,
          assignment: Buffer.alloc(0),
        };
      const r = await b.groupCoordinator.handleSyncGroup({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId ?? null,
        protocolType: req.protocolType ?? null,
        protocolName: req.protocolName ?? null,
        assignments: req.assignments.map((a) => ({
          memberId: a.memberId,
          assignment: Buffer.from(a.assignment),
        })),
      });
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        protocolType: r.protocolType,
        protocolName: r.protocolName,
        assignment: r.assignment,
      };
    },
  });
}
