/**
 * DescribeCluster (key 60), versions 0-1: brokers, controller and cluster id for the admin client.
 * Brokers are listed with their endpoint for the listener the request arrived on; one without that
 * listener is left out (Kafka's rule).
 */
import {
  decodeDescribeClusterRequest,
  encodeDescribeClusterResponse,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../protocol/messages/describe-cluster.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { endpointFor } from '../../controller/records.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { authorizedOperations, OPERATIONS_NOT_REQUESTED } from '../authorized-operations.js';

export function describeClusterHandler(b: BrokerServices) {
  return defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
    apiKey: 60,
    name: 'DescribeCluster',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeDescribeClusterRequest,
    encode: encodeDescribeClusterResponse,
    handle(req, ctx) {
      // endpointType 2 asks for controllers (KIP-919); our controller is one of the brokers.
      if ((req.endpointType ?? 1) !== 1 && req.endpointType !== 2) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: `Unsupported endpoint type ${req.endpointType}`,
          endpointType: req.endpointType,
          clusterId: b.table.clusterId ?? '',
          controllerId: -1,
          brokers: [],
          clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: req.endpointType ?? 1,
        clusterId: b.table.clusterId ?? '',
        controllerId: b.controllerId(),
        brokers: [...b.table.brokers.values()]
          .sort((x, y) => x.nodeId - y.nodeId)
          .flatMap((br) => {
            const ep = endpointFor(br, ctx.connection.listenerName);
            return ep ? [{ brokerId: br.nodeId, host: ep.host, port: ep.port, rack: br.rack }] : [];
          }),
        // KIP-430: the operations on the cluster, when asked.
        // Kafka: 0 when the principal may not DESCRIBE the cluster.
        clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
          ? b.auth.authorizeCluster(ctx, 'DESCRIBE')
            ? authorizedOperations(b.auth, ctx, 'CLUSTER')
            : 0
          : OPERATIONS_NOT_REQUESTED,
      };
    },
  });
}
