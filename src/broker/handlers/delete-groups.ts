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
    async handle(req) {
      const r = await b.groupCoordinator.deleteGroups(req.groupsNames);
      return {
        throttleTimeMs: 0,
        results: req.groupsNames.map((groupId) => ({ groupId, errorCode: r.get(groupId) ?? 0 })),
      };
    },
  });
}
