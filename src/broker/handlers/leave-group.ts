/**
 * LeaveGroup (key 13), versions 0-5. v0-2 name one member; v3+ a batch of members, each by member
 * id or (static members) by group.instance.id, with an error per member (KIP-345).
 */
import {
  decodeLeaveGroupRequest,
  encodeLeaveGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from '../../protocol/messages/leave-group.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function leaveGroupHandler(b: BrokerServices) {
  return defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
    apiKey: 13,
    name: 'LeaveGroup',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeLeaveGroupRequest,
    encode: encodeLeaveGroupResponse,
    handle(req, ctx) {
      const batched = ctx.apiVersion >= 3;
      // Kafka: READ on the group.
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
      const leaving = batched
        ? (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
        : [{ memberId: req.memberId ?? '', groupInstanceId: null }];
      const r = b.groupCoordinator.handleLeaveGroup(req.groupId, leaving);
      if (batched) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
      // One member: its error is the response's error.
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode !== 0 ? r.errorCode : (r.members[0]?.errorCode ?? 0),
        members: [],
      };
    },
  });
}
