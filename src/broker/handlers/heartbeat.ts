/** Heartbeat (key 12), versions 0-4: keeps a member's session alive and tells it when to rejoin. */
import {
  decodeHeartbeatRequest,
  encodeHeartbeatResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '../../protocol/messages/heartbeat.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function heartbeatHandler(b: BrokerServices) {
  return defineHandler<HeartbeatRequest, HeartbeatResponse>({
    apiKey: 12,
    name: 'Heartbeat',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeHeartbeatRequest,
    encode: encodeHeartbeatResponse,
    handle(req, ctx) {
      // Kafka: READ on the group.
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
      const errorCode = b.groupCoordinator.handleHeartbeat({
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId ?? null,
        generationId: req.generationId,
      });
      return { throttleTimeMs: 0, errorCode };
    },
  });
}
