/**
 * ListGroups (key 16), versions 0-5: the groups this broker coordinates. v4+ filter by state
 * (case-insensitive, KIP-518), v5+ by type (every group here is "classic").
 */
import {
  decodeListGroupsRequest,
  encodeListGroupsResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../protocol/messages/list-groups.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function listGroupsHandler(b: BrokerServices) {
  return defineHandler<ListGroupsRequest, ListGroupsResponse>({
    apiKey: 16,
    name: 'ListGroups',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeListGroupsRequest,
    encode: encodeListGroupsResponse,
    handle(req) {
      const r = b.groupCoordinator.listGroups(req.statesFilter ?? []);
      const types = (req.typesFilter ?? []).map((t) => t.toLowerCase());
      const groups = types.length > 0 && !types.includes('classic') ? [] : r.groups;
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode,
        groups: groups.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: 'classic',
        })),
      };
    },
  });
}
