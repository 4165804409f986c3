/**
 * DeleteGroups (key 42), versions 0-2: deletes Empty groups with their offsets (tombstones in
 * __consumer_offsets). A group with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
 */
import {
  decodeDeleteGroupsRequest,
  encodeDeleteGroupsResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from '../../protocol/messages/delete-groups.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function deleteGroupsHandler(b: BrokerServices) {
  return defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
    apiKey: 42,
    name: 'DeleteGroups',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeDeleteGroupsRequest,
    encode: encodeDeleteGroupsResponse,
    async handle(req, ctx) {
      // Kafka: DELETE on each group.
      const deletable = b.auth.filterAuthorized(ctx, 'DELETE', 'GROUP', req.groupsNames);
      const r = await b.groupCoordinator.deleteGroups(req.groupsNames.filter((g) => deletable.has(g)));
      return {
        throttleTimeMs: 0,
        results: req.groupsNames.map((groupId) => ({
          groupId,
          errorCode: deletable.has(groupId) ? (r.get(groupId) ?? 0) : ErrorCode.GROUP_AUTHORIZATION_FAILED,
        })),
      };
    },
  });
}
