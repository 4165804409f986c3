/**
 * JoinGroup (key 11), versions 0-9. The response waits until the group's join phase ends (the
 * coordinator answers through a callback). v4+ dynamic members get MEMBER_ID_REQUIRED first (KIP-394);
 * v5+ carry group.instance.id (KIP-345); v0 has no rebalance timeout (the session timeout is used).
 */
import {
  decodeJoinGroupRequest,
  encodeJoinGroupResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from '../../protocol/messages/join-group.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function joinGroupHandler(b: BrokerServices) {
  return defineHandler<JoinGroupRequest, JoinGroupResponse>({
    apiKey: 11,
    name: 'JoinGroup',
    minVersion: 0,
    maxVersion: 9,
    decode: decodeJoinGroupRequest,
    encode: encodeJoinGroupResponse,
    async handle(req, ctx) {
      // Kafka: READ on the group.
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          generationId: -1,
          protocolType: null,
          protocolName: ctx.apiVersion >= 7 ? null : '',
          leader: '',
          skipAssignment: false,
          memberId: '',
          members: [],
        };
      const groupInstanceId = req.groupInstanceId ?? null;
      const r = await b.groupCoordinator.handleJoinGroup({
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId,
        requireKnownMemberId: ctx.apiVersion >= 4 && groupInstanceId === null,
        clientId: ctx.clientId ?? '',
        clientHost: `/${ctx.connection.remoteAddress}`,
        rebalanceTimeoutMs:
          ctx.apiVersion >= 1 && req.rebalanceTimeoutMs !== undefined && req.rebalanceTimeoutMs >= 0
            ? req.rebalanceTimeoutMs
            : req.sessionTimeoutMs,
        sessionTimeoutMs: req.sessionTimeoutMs,
        protocolType: req.protocolType,
        // Copies: the request frame's buffer must not be kept alive by group state.
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
        reason: req.reason ?? null,
      });
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        generationId: r.generationId,
        protocolType: r.protocolType,
        protocolName: ctx.apiVersion >= 7 ? r.protocolName : (r.protocolName ?? ''),
        leader: r.leader,
        skipAssignment: r.skipAssignment,
        memberId: r.memberId,
        members: r.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: m.metadata,
        })),
      };
    },
  });
}
