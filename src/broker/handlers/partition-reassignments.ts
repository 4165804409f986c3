/**
 * AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46), version 0 (KIP-455),
 * forwarded to the active controller. Alter starts, replaces or (null replicas) cancels a partition's
 * reassignment: per partition NONE, INVALID_REPLICA_ASSIGNMENT, UNKNOWN_TOPIC_OR_PARTITION or
 * NO_REASSIGNMENT_IN_PROGRESS. The controller finishes it once the added replicas are in sync.
 * List answers the reassignments in progress.
 *
 * A single node (no controller) answers itself, as a one-broker Kafka cluster does: its only broker
 * is every partition's replica set, so a reassignment to that set is a no-op that succeeds; any
 * other target is refused with Kafka's ReplicationControlManager errors and words (unknown topic or
 * partition, empty list, unregistered or repeated broker), and a cancel finds nothing in progress.
 */
import {
  decodeAlterPartitionReassignmentsRequest,
  encodeAlterPartitionReassignmentsResponse,
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
} from '../../protocol/messages/alter-partition-reassignments.js';
import {
  decodeListPartitionReassignmentsRequest,
  encodeListPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/messages/list-partition-reassignments.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { clusterAuthorizationMessage } from '../security/authorizer-helper.js';
import { reassignmentTargetProblem } from '../../controller/partition-state-machine.js';
import { byTopic, codeOfName, forwardTimeout, type ControlPlaneAccess } from './controller-forward.js';

interface Result {
  topic: string;
  partition: number;
  error: string;
  message: string;
}

interface Ongoing {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** A single node's answer for one partition (see the file comment). */
function singleNodeResult(
  b: BrokerServices,
  topic: string,
  partition: number,
  replicas: number[] | null,
): Result {
  const refuse = (error: string, message: string): Result => ({ topic, partition, error, message });
  const record = b.table.topics.get(topic);
  if (!record) return refuse('UNKNOWN_TOPIC_OR_PARTITION', `Unable to find a topic named ${topic}.`);
  const current = record.replicas[partition];
  if (!current)
    return refuse('UNKNOWN_TOPIC_OR_PARTITION', `Unable to find partition ${topic}:${partition}.`);
  if (replicas === null)
    return refuse('NO_REASSIGNMENT_IN_PROGRESS', 'No partition reassignment is in progress.');
  const invalid = reassignmentTargetProblem(replicas, new Set([b.nodeId]));
  if (invalid !== null) return refuse('INVALID_REPLICA_ASSIGNMENT', invalid);
  // The target is this node alone, which is the partition's replica set already: nothing to move.
  return { topic, partition, error: 'NONE', message: '' };
}

export function alterPartitionReassignmentsHandler(b: BrokerServices, controlPlane: ControlPlaneAccess) {
  return defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
    apiKey: 45,
    name: 'AlterPartitionReassignments',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeAlterPartitionReassignmentsRequest,
    encode: encodeAlterPartitionReassignmentsResponse,
    async handle(req, ctx) {
      const fail = (errorCode: number, errorMessage: string): AlterPartitionReassignmentsResponse => ({
        throttleTimeMs: 0,
        errorCode,
        errorMessage,
        responses: [],
      });
      // Kafka: ALTER on the cluster.
      if (!b.auth.authorizeCluster(ctx, 'ALTER'))
        return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterAuthorizationMessage(ctx, 'ALTER'));
      const client = controlPlane();
      const reassignments = req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          cancel: p.replicas === null,
          replicas: p.replicas ?? [],
        })),
      );
      let results: Result[];
      if (!client)
        results = reassignments.map((r) =>
          singleNodeResult(b, r.topic, r.partition, r.cancel ? null : r.replicas),
        );
      else
        try {
          const res = await client.call(
            'alterPartitionReassignments',
            { reassignments },
            forwardTimeout(req.timeoutMs),
          );
          if (res.error !== 'NONE') return fail(codeOfName(res.error), res.message);
          results = res.results;
        } catch (err) {
          b.log.warn({ err }, 'AlterPartitionReassignments: the controller did not answer');
          return fail(ErrorCode.REQUEST_TIMED_OUT, 'the controller did not answer in time');
        }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        responses: [...byTopic(results)].map(([name, rs]) => ({
          name,
          partitions: rs.map((r) => ({
            partitionIndex: r.partition,
            errorCode: codeOfName(r.error),
            errorMessage: r.error === 'NONE' ? null : r.message,
          })),
        })),
      };
    },
  });
}

export function listPartitionReassignmentsHandler(b: BrokerServices, controlPlane: ControlPlaneAccess) {
  return defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
    apiKey: 46,
    name: 'ListPartitionReassignments',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeListPartitionReassignmentsRequest,
    encode: encodeListPartitionReassignmentsResponse,
    async handle(req, ctx) {
      // Kafka: DESCRIBE on the cluster.
      if (!b.auth.authorizeCluster(ctx, 'DESCRIBE'))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: clusterAuthorizationMessage(ctx, 'DESCRIBE'),
          topics: [],
        };
      const client = controlPlane();
      if (!client) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
      let ongoing: Ongoing[];
      try {
        const res = await client.call(
          'listPartitionReassignments',
          {
            allPartitions: req.topics === null,
            topicPartitions: (req.topics ?? []).map((t) => ({
              topic: t.name,
              partitions: t.partitionIndexes,
            })),
          },
          forwardTimeout(req.timeoutMs),
        );
        if (res.error !== 'NONE')
          return {
            throttleTimeMs: 0,
            errorCode: codeOfName(res.error),
            errorMessage: res.message,
            topics: [],
          };
        ongoing = res.reassignments;
      } catch (err) {
        b.log.warn({ err }, 'ListPartitionReassignments: the controller did not answer');
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: 'the controller did not answer in time',
          topics: [],
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: [...byTopic(ongoing)].map(([name, rs]) => ({
          name,
          partitions: rs.map((r) => ({
            partitionIndex: r.partition,
            replicas: r.replicas,
            addingReplicas: r.addingReplicas,
            removingReplicas: r.removingReplicas,
          })),
        })),
      };
    },
  });
}
