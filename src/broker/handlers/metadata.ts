/**
 * Metadata (key 3), versions 0-12. Brokers, cluster id, controller, and per topic the partitions with
 * leader, leader epoch, replicas, ISR and offline replicas, all from the MetadataTable. Unknown topics
 * are created when allowed (auto.create.topics.enable and, from v4, the request's flag): their creation
 * starts and the answer is UNKNOWN_TOPIC_OR_PARTITION, as Kafka 4.4's (AutoTopicCreationManager).
 *
 * Addresses are those of the listener the request arrived on (Kafka's rule): a broker without that
 * listener is left out of the brokers, and a partition whose leader lacks it has no leader (-1) with
 * LEADER_NOT_AVAILABLE, or from v6 LISTENER_NOT_FOUND so the misconfiguration can be told apart.
 */
import {
  decodeMetadataRequest,
  encodeMetadataResponse,
  type MetadataRequest,
  type MetadataResponse,
} from '../../protocol/messages/metadata.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { INTERNAL_TOPICS, topicNameProblem } from '../../common/topic-config.js';
import { ZERO_UUID } from '../../controller/topic-frontend.js';
import { endpointFor } from '../../controller/records.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { authorizedOperations, OPERATIONS_NOT_REQUESTED } from '../authorized-operations.js';

type TopicOut = MetadataResponse['topics'][number];

export function metadataHandler(b: BrokerServices) {
  const describeTopicOn = (name: string, listener: string, version: number): TopicOut | null => {
    const t = b.table.topics.get(name);
    if (!t) return null;
    return {
      errorCode: ErrorCode.NONE,
      name,
      topicId: t.topicId,
      isInternal: INTERNAL_TOPICS.has(name),
      partitions: t.replicas.map((replicas, p) => {
        const st = b.table.partitionState(name, p);
        const offline = replicas.filter((r) => !b.table.brokers.has(r));
        const leader = st !== undefined && st.leader >= 0 ? b.table.brokers.get(st.leader) : undefined;
        const reachable = leader !== undefined && endpointFor(leader, listener) !== undefined;
        return {
          errorCode: reachable
            ? ErrorCode.NONE
            : leader !== undefined && version >= 6
              ? ErrorCode.LISTENER_NOT_FOUND
              : ErrorCode.LEADER_NOT_AVAILABLE,
          partitionIndex: p,
          leaderId: reachable ? leader.nodeId : -1,
          leaderEpoch: st?.leaderEpoch ?? -1,
          replicaNodes: replicas,
          isrNodes: st?.isr ?? [],
          offlineReplicas: offline,
        };
      }),
      topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
    };
  };

  const errorTopic = (name: string | null, topicId: string, errorCode: number): TopicOut => ({
    errorCode,
    name,
    topicId,
    isInternal: name !== null && INTERNAL_TOPICS.has(name),
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  });

  return defineHandler<MetadataRequest, MetadataResponse>({
    apiKey: 3,
    name: 'Metadata',
    minVersion: 0,
    maxVersion: 12,
    decode: decodeMetadataRequest,
    encode: encodeMetadataResponse,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const listener = ctx.connection.listenerName;
      const describeTopic = (name: string) => describeTopicOn(name, listener, v);
      // v0: an empty list means all topics; v1+: null means all, empty means none.
      const all = req.topics === null || (v === 0 && req.topics.length === 0);
      const topics: TopicOut[] = [];
      if (all) {
        // Kafka hides the topics the principal may not DESCRIBE (and logs no denial for them).
        const visible = b.auth.filterAuthorized(ctx, 'DESCRIBE', 'TOPIC', b.table.topics.keys(), {
          logIfDenied: false,
        });
        for (const name of [...visible].sort()) topics.push(describeTopic(name)!);
      } else {
        // Kafka's handleTopicMetadataRequest: DESCRIBE on each named topic (a denied one answers
        // TOPIC_AUTHORIZATION_FAILED without saying whether it exists); a topic to auto-create
        // needs CREATE on the cluster or on the topic.
        const names = req.topics!.map((t) =>
          t.topicId && t.topicId !== ZERO_UUID ? (b.table.topicsById.get(t.topicId)?.name ?? null) : t.name,
        );
        const describable = b.auth.filterAuthorized(
          ctx,
          'DESCRIBE',
          'TOPIC',
          names.filter((n): n is string => n !== null),
        );
        let clusterCreate: boolean | null = null;
        const mayCreate = (name: string): boolean => {
          clusterCreate ??= b.auth.authorizeCluster(ctx, 'CREATE', { logIfDenied: false });
          return clusterCreate || b.auth.authorize(ctx, 'CREATE', 'TOPIC', name);
        };
        const allowCreate =
          (v < 4 || req.allowAutoTopicCreation !== false) && b.config.bool('auto.create.topics.enable');
        for (const t of req.topics!) {
          let name = t.name;
          // A non-zero topic id wins over the name: the Java admin's describeTopics(ids) sends the
          // name as its default "" rather than null (Kafka likewise looks such topics up by id).
          if (t.topicId && t.topicId !== ZERO_UUID) {
            name = b.table.topicsById.get(t.topicId)?.name ?? null;
            if (name === null) {
              topics.push(errorTopic(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
              continue;
            }
          }
          if (name === null) {
            topics.push(errorTopic(null, t.topicId ?? ZERO_UUID, ErrorCode.INVALID_REQUEST));
            continue;
          }
          if (!describable.has(name)) {
            // By id: the id is not secret, the name is.
            const byId = !!t.topicId && t.topicId !== ZERO_UUID;
            topics.push(
              errorTopic(
                byId ? null : name,
                byId ? t.topicId! : ZERO_UUID,
                ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              ),
            );
            continue;
          }
          const out = describeTopic(name);
          if (!out && topicNameProblem(name)) {
            topics.push(errorTopic(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
            continue;
          }
          // Auto-creation needs CREATE on the cluster or the topic (internal topics too, as Kafka).
          if (!out && allowCreate && !mayCreate(name)) {
            topics.push(errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
            continue;
          }
          // Kafka 4.4 starts the creation and answers UNKNOWN_TOPIC_OR_PARTITION: the client's next
          // refresh finds the topic (internal topics too, created with their owners' configs).
          if (!out && allowCreate) b.autoTopicCreation.createTopic(name);
          topics.push(out ?? errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        }
      }
      // KIP-430 (v8+): operations on each named topic, and on the cluster up to v10 (v11 moved it
      // to DescribeCluster), when asked.
      if (v >= 8 && req.includeTopicAuthorizedOperations)
        for (const t of topics)
          if (t.name !== null && t.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            t.topicAuthorizedOperations = authorizedOperations(b.auth, ctx, 'TOPIC', t.name);
      const clusterOps =
        v >= 8 && v <= 10 && req.includeClusterAuthorizedOperations
          ? b.auth.authorizeCluster(ctx, 'DESCRIBE')
            ? authorizedOperations(b.auth, ctx, 'CLUSTER')
            : 0
          : OPERATIONS_NOT_REQUESTED;
      return {
        throttleTimeMs: 0,
        brokers: [...b.table.brokers.values()]
          .sort((x, y) => x.nodeId - y.nodeId)
          .flatMap((br) => {
            const ep = endpointFor(br, listener);
            return ep ? [{ nodeId: br.nodeId, host: ep.host, port: ep.port, rack: br.rack }] : [];
          }),
        clusterId: b.table.clusterId,
        controllerId: b.controllerId(),
        topics,
        clusterAuthorizedOperations: clusterOps,
      };
    },
  });
}
