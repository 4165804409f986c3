/**
 * ElectLeaders (key 43), versions 0-2 (KIP-460): preferred (electionType 0, the only kind in v0) or
 * unclean (1) leader election for the listed partitions, or all of them when the list is null.
 * Forwarded to the active controller; each partition answers NONE, ELECTION_NOT_NEEDED,
 * PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION.
 * A single node is its every partition's only replica: nothing can be elected there, and the rules
 * answer from its own view.
 */
import {
  decodeElectLeadersRequest,
  encodeElectLeadersResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
} from '../../protocol/messages/elect-leaders.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { onElectLeader } from '../../controller/partition-state-machine.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { byTopic, codeOfName, forwardTimeout, type ControlPlaneAccess } from './controller-forward.js';

interface Result {
  topic: string;
  partition: number;
  error: string;
  message: string;
}

export function electLeadersHandler(b: BrokerServices, controlPlane: ControlPlaneAccess) {
  return defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
    apiKey: 43,
    name: 'ElectLeaders',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeElectLeadersRequest,
    encode: encodeElectLeadersResponse,
    async handle(req, ctx) {
      const electionType = req.electionType ?? 0;
      // Kafka: ALTER on the cluster.
      if (!b.auth.authorizeCluster(ctx, 'ALTER'))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          replicaElectionResults: [],
        };
      if (electionType !== 0 && electionType !== 1) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
      }
      const wanted =
        req.topicPartitions?.flatMap((t) =>
          t.partitions.map((partition) => ({ topic: t.topic, partition })),
        ) ?? null;
      let results: Result[];
      const client = controlPlane();
      if (client) {
        try {
          const res = await client.call(
            'electLeaders',
            {
              electionType,
              allPartitions: wanted === null,
              topicPartitions: (req.topicPartitions ?? []).map((t) => ({
                topic: t.topic,
                partitions: t.partitions,
              })),
            },
            forwardTimeout(req.timeoutMs),
          );
          if (res.error !== 'NONE')
            return { throttleTimeMs: 0, errorCode: codeOfName(res.error), replicaElectionResults: [] };
          results = res.results;
        } catch (err) {
          b.log.warn({ err }, 'ElectLeaders: the controller did not answer');
          return { throttleTimeMs: 0, errorCode: ErrorCode.REQUEST_TIMED_OUT, replicaElectionResults: [] };
        }
      } else {
        results = local(b, electionType, wanted);
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        replicaElectionResults: [...byTopic(results)].map(([topic, rs]) => ({
          topic,
          partitionResult: rs.map((r) => ({
            partitionId: r.partition,
            errorCode: codeOfName(r.error),
            errorMessage: r.error === 'NONE' ? null : r.message,
          })),
        })),
      };
    },
  });
}

/** Single node: the rules over its own view; an election that would change something cannot be written here. */
function local(
  b: BrokerServices,
  electionType: number,
  wanted: { topic: string; partition: number }[] | null,
): Result[] {
  const live = new Set(b.table.brokers.keys());
  const all =
    wanted ??
    [...b.table.topics].flatMap(([topic, t]) => t.replicas.map((_, partition) => ({ topic, partition })));
  return all.map(({ topic, partition }) => {
    const replicas = b.table.topics.get(topic)?.replicas[partition];
    const state = b.table.partitionState(topic, partition);
    if (!replicas || !state)
      return {
        topic,
        partition,
        error: 'UNKNOWN_TOPIC_OR_PARTITION',
        message: `${topic}-${partition} does not exist`,
      };
    const r = onElectLeader(electionType, replicas, state, live);
    if ('error' in r) return { topic, partition, ...r };
    return { topic, partition, error: 'NOT_CONTROLLER', message: 'no controller to elect a leader' };
  });
}
