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
    handle(req, ctx) {
      const r = b.groupCoordinator.listGroups(req.statesFilter ?? []);
      // Kafka: every group with DESCRIBE on the cluster, else those with DESCRIBE on the group.
      const visible = b.auth.authorizeCluster(ctx, 'DESCRIBE', { logIfDenied: false })
        ? null
        : b.auth.filterAuthorized(
            ctx,
            'DESCRIBE',
            'GROUP',
            r.groups.map((g) => g.groupId),
            { logIfDenied: false },
          );
      const types = (req.typesFilter ?? []).map((t) => t.toLowerCase());
      const groups =
        types.length > 0 && !types.includes('classic')
          ? []
          : r.groups.filter((g) => !visible || visible.has(g.groupId));
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
