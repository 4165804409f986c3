/**
 * DescribeGroups (key 15), versions 0-5: state, protocol and members of each group; member metadata
 * and assignments only when the group is Stable (they are in flux otherwise). An unknown group is
 * described as Dead with no error, as Kafka does.
 */
import {
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../protocol/messages/describe-groups.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { authorizedOperations, OPERATIONS_NOT_REQUESTED } from '../authorized-operations.js';

export function describeGroupsHandler(b: BrokerServices) {
  return defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
    apiKey: 15,
    name: 'DescribeGroups',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeDescribeGroupsRequest,
    encode: encodeDescribeGroupsResponse,
    handle(req, ctx) {
      // KIP-430 (v3+): the operations on each group, when asked.
      const asked = ctx.apiVersion >= 3 && req.includeAuthorizedOperations;
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((id) => {
          // Kafka: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED for it.
          if (!b.auth.authorize(ctx, 'DESCRIBE', 'GROUP', id))
            return {
              errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
              groupId: id,
              groupState: '',
              protocolType: '',
              protocolData: '',
              members: [],
              authorizedOperations: OPERATIONS_NOT_REQUESTED,
            };
          const groupOps = asked ? authorizedOperations(b.auth, ctx, 'GROUP', id) : OPERATIONS_NOT_REQUESTED;
          const s = b.groupCoordinator.describeGroup(id);
          return {
            errorCode: s.errorCode,
            groupId: id,
            groupState: s.state,
            protocolType: s.protocolType,
            protocolData: s.protocol,
            members: s.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: m.metadata,
              memberAssignment: m.assignment,
            })),
            authorizedOperations: groupOps,
          };
        }),
      };
    },
  });
}
