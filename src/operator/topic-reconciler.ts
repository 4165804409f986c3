/**
 * Reconciles one KafkaTopic against its cluster, through the Kafka protocol (the same calls any
 * admin client makes). Steps: finalizer (add on first sight; on deletion delete the Kafka topic
 * unless the resource says retain, then remove it) → cluster (label sluice.dev/cluster, same
 * namespace) → create | grow partitions | reject a decrease → replication factor (partition
 * reassignment, KIP-455: submit, then report progress until ListPartitionReassignments is empty and
 * Metadata shows the new replica count) → config (AlterConfigs replaces the topic's overrides with the spec's, which also reverts drift
 * made by anyone else) → status. A periodic resync runs it again, so drift is found without a
 * Kubernetes event.
 */
import type { Logger } from 'pino';
import { outcomeConditions } from './conditions.js';
import { resourceFor, type KubeClient } from './kube/client.js';
import { KafkaAdminError, RESOURCE_TOPIC, withAdmin, type KafkaAdminClient } from './kafka/admin-client.js';
import { AssignmentError, planReplicationFactor } from './model/replica-assignment.js';
import { topicName, withClusterDefaults, withTopicDefaults } from './model/defaults.js';
import type { ClusterEndpoints } from './cluster-reconciler.js';
import { errMessage } from './cluster-reconciler.js';
import {
  ANNOTATIONS,
  API_VERSION,
  LABELS,
  REASON,
  TOPIC_FINALIZER,
  type KafkaCluster,
  type KafkaTopic,
  type KafkaTopicStatus,
} from './types.js';
import type { ReconcileResult } from './work-queue.js';

export const KAFKA_TOPIC = resourceFor(API_VERSION, 'KafkaTopic');

export interface TopicReconcilerOptions {
  client: KubeClient;
  log: Logger;
  endpoints: ClusterEndpoints;
  /** The KafkaCluster a topic names, from the informer cache. */
  findCluster: (namespace: string, name: string) => KafkaCluster | undefined;
  resyncMs: number;
  /** While a reassignment runs, look again this often (ms, default 2000). */
  progressMs?: number;
  /** Counts topic drift corrections (a metric). */
  onDrift?: (kind: 'config' | 'partitions' | 'missing') => void;
}

interface Outcome {
  ready: boolean;
  reason: string;
  message: string;
  degraded?: boolean;
}

/** Give the brokers' metadata this long to show a finished reassignment before planning again. */
const METADATA_SETTLE_MS = 30_000;

export class TopicReconciler {
  readonly #o: TopicReconcilerOptions;
  /** key → the replication factor last submitted and when (a finished one may lag in Metadata). */
  readonly #submitted = new Map<string, { replicas: number; at: number }>();

  constructor(o: TopicReconcilerOptions) {
    this.#o = o;
  }

  async reconcile(raw: KafkaTopic | undefined, key: string): Promise<ReconcileResult> {
    if (!raw) {
      this.#submitted.delete(key);
      return {};
    }
    const topic = withTopicDefaults(raw);
    const ns = topic.metadata.namespace ?? 'default';
    const name = topicName(topic);
    const log = this.#o.log.child({ kafkaTopic: key, topic: name });
    const clusterName = topic.metadata.labels?.[LABELS.cluster];
    const cluster = clusterName ? this.#o.findCluster(ns, clusterName) : undefined;

    // Step: finalizer.
    if (topic.metadata.deletionTimestamp) {
      if (!(topic.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) return {};
      const retain = topic.metadata.annotations?.[ANNOTATIONS.deletionPolicy] === 'retain';
      if (!retain && cluster) {
        const c = withClusterDefaults(cluster);
        const deleted = await withAdmin(this.#o.endpoints.bootstrap(c), (a) => a.deleteTopic(name));
        log.info({ deleted }, 'deleted Kafka topic for deleted KafkaTopic');
      } else {
        log.info({ retain, clusterFound: !!cluster }, 'KafkaTopic deleted; Kafka topic left in place');
      }
      await this.#removeFinalizer(topic);
      return {};
    }
    if (!(topic.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) {
      await this.#o.client.jsonPatch(KAFKA_TOPIC, ns, topic.metadata.name, [
        { op: 'test', path: '/metadata/resourceVersion', value: topic.metadata.resourceVersion },
        topic.metadata.finalizers
          ? { op: 'add', path: '/metadata/finalizers/-', value: TOPIC_FINALIZER }
          : { op: 'add', path: '/metadata/finalizers', value: [TOPIC_FINALIZER] },
      ]);
      // The update event brings it back with the finalizer.
      return {};
    }

    // Step: cluster.
    if (!clusterName || !cluster) {
      await this.#writeStatus(
        topic,
        {},
        {
          ready: false,
          reason: REASON.ClusterNotFound,
          message: clusterName
            ? `KafkaCluster ${ns}/${clusterName} not found`
            : `label ${LABELS.cluster} is missing`,
        },
      );
      return { requeueAfterMs: this.#o.resyncMs };
    }
    const c = withClusterDefaults(cluster);

    let status: KafkaTopicStatus = { topicName: name };
    let outcome: Outcome;
    try {
      outcome = await withAdmin(this.#o.endpoints.bootstrap(c), async (admin) => {
        const brokers = (await admin.describeCluster()).brokers.length;
        const want = topic.spec;
        // Values may be YAML numbers (the schema is int-or-string); Kafka wants strings.
        const desired = Object.fromEntries(Object.entries(want.config ?? {}).map(([k, v]) => [k, String(v)]));
        if (want.replicas > Math.max(brokers, c.spec.replicas)) {
          return {
            ready: false,
            degraded: true,
            reason: REASON.InsufficientBrokers,
            message: `replicas ${want.replicas} > ${Math.max(brokers, c.spec.replicas)} brokers`,
          };
        }
        let current = await admin.describeTopic(name);
        if (!current) {
          if (raw.status?.topicId) this.#o.onDrift?.('missing');
          log.info({ partitions: want.partitions, replicas: want.replicas }, 'creating topic');
          try {
            await admin.createTopic(name, want.partitions, want.replicas, desired);
          } catch (err) {
            if (!(err instanceof KafkaAdminError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err;
          }
          current = await admin.describeTopic(name);
          if (!current)
            return {
              ready: false,
              reason: REASON.Creating,
              message: 'topic created; waiting for it to appear in metadata',
            };
        }
        status = {
          topicName: name,
          topicId: current.topicId,
          partitions: current.partitions,
          replicas: current.replicationFactor,
        };
        const problems: Outcome[] = [];
        if (want.partitions < current.partitions) {
          problems.push({
            ready: false,
            degraded: true,
            reason: REASON.PartitionDecreaseRejected,
            message: `partitions cannot decrease (topic has ${current.partitions}, spec asks for ${want.partitions})`,
          });
        } else if (want.partitions > current.partitions) {
          log.info({ from: current.partitions, to: want.partitions }, 'increasing partitions');
          await admin.createPartitions(name, want.partitions);
          status.partitions = want.partitions;
        }
        const rf = await this.#replicationFactor(admin, key, name, want.replicas, log);
        if (rf) problems.push(rf);
        const overrides = await admin.topicOverrides(name);
        if (!sameConfig(overrides, desired)) {
          log.info({ from: overrides, to: desired }, 'setting topic configs');
          this.#o.onDrift?.('config');
          await admin.alterConfigs(RESOURCE_TOPIC, name, desired);
        }
        return (
          problems[0] ?? {
            ready: true,
            reason: REASON.Ready,
            message: `topic ${name}: ${status.partitions} partition(s), replication factor ${status.replicas}`,
          }
        );
      });
    } catch (err) {
      const unreachable = !(err instanceof KafkaAdminError) || err.code === 'NETWORK_EXCEPTION';
      outcome = {
        ready: false,
        degraded: true,
        reason: unreachable ? REASON.ClusterUnreachable : REASON.KafkaError,
        message: errMessage(err),
      };
      log.warn({ err: errMessage(err) }, 'topic reconcile failed');
      status = { ...(raw.status ?? {}), topicName: name };
      await this.#writeStatus(topic, status, outcome);
      throw err;
    }
    await this.#writeStatus(topic, status, outcome);
    return {
      requeueAfterMs:
        outcome.reason === REASON.ReassignmentInProgress ? (this.#o.progressMs ?? 2000) : this.#o.resyncMs,
    };
  }

  /**
   * Step "replication factor": null when every partition has `want` replicas and no reassignment
   * runs; else what is in progress (or why it cannot be done). Waits for a running reassignment
   * rather than replacing it.
   */
  async #replicationFactor(
    admin: KafkaAdminClient,
    key: string,
    name: string,
    want: number,
    log: Logger,
  ): Promise<Outcome | null> {
    const topic = await admin.describeTopic(name);
    if (!topic) return null;
    const partitions = topic.assignment.map((_, i) => i);
    const ongoing = await admin.listPartitionReassignments(name, partitions);
    const off = topic.assignment.filter((r) => r.length !== want).length;
    const from = [...new Set(topic.assignment.map((r) => r.length))].sort().join('/');
    if (ongoing.length > 0)
      return {
        ready: false,
        reason: REASON.ReassignmentInProgress,
        message:
          `replication factor → ${want}: ${ongoing.length}/${partitions.length} partition(s) being reassigned ` +
          `(adding ${countOf(ongoing, 'adding')}, removing ${countOf(ongoing, 'removing')} replica(s))`,
      };
    if (off === 0) {
      if (this.#submitted.delete(key)) log.info({ replicas: want }, 'replication factor change finished');
      return null;
    }
    const last = this.#submitted.get(key);
    if (last && last.replicas === want && Date.now() - last.at < METADATA_SETTLE_MS)
      return {
        ready: false,
        reason: REASON.ReassignmentInProgress,
        message: `replication factor → ${want}: reassignment finished; waiting for metadata (${off} partition(s) still show ${from})`,
      };
    const cluster = await admin.describeCluster();
    let target: number[][];
    try {
      target = planReplicationFactor(
        topic.assignment,
        want,
        cluster.brokers.map((b) => ({ id: b.nodeId, rack: b.rack })),
        await admin.replicaLoad(),
      );
    } catch (err) {
      if (!(err instanceof AssignmentError)) throw err;
      return { ready: false, degraded: true, reason: REASON.InsufficientBrokers, message: err.message };
    }
    const changes = new Map<number, number[]>();
    target.forEach((r, p) => {
      if (r.join(',') !== topic.assignment[p]!.join(',')) changes.set(p, r);
    });
    log.info(
      { from, to: want, partitions: Object.fromEntries(changes) },
      'changing the replication factor: submitting partition reassignments',
    );
    await admin.alterPartitionReassignments(name, changes);
    this.#submitted.set(key, { replicas: want, at: Date.now() });
    return {
      ready: false,
      reason: REASON.ReassignmentInProgress,
      message: `replication factor ${from} → ${want}: reassigning ${changes.size}/${partitions.length} partition(s)`,
    };
  }

  async #removeFinalizer(topic: KafkaTopic): Promise<void> {
    const finalizers = topic.metadata.finalizers ?? [];
    const i = finalizers.indexOf(TOPIC_FINALIZER);
    if (i < 0) return;
    await this.#o.client.jsonPatch(KAFKA_TOPIC, topic.metadata.namespace, topic.metadata.name, [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: TOPIC_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ]);
  }

  async #writeStatus(topic: KafkaTopic, status: KafkaTopicStatus, o: Outcome): Promise<void> {
    const next: KafkaTopicStatus = {
      ...status,
      observedGeneration: topic.metadata.generation,
      conditions: outcomeConditions(topic.status?.conditions, topic.metadata.generation, {
        ready: o.ready,
        reconciling: !o.ready && !o.degraded,
        degraded: o.degraded ?? false,
        reason: o.reason,
        message: o.message,
      }),
    };
    if (JSON.stringify(next) === JSON.stringify(topic.status ?? {})) return;
    await this.#o.client.mergePatch(
      KAFKA_TOPIC,
      topic.metadata.namespace,
      topic.metadata.name,
      { status: next },
      'status',
    );
  }
}

function countOf(ongoing: { adding: number[]; removing: number[] }[], k: 'adding' | 'removing'): number {
  return ongoing.reduce((n, o) => n + o[k].length, 0);
}

function sameConfig(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
