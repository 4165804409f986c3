/**
 * Reconciles one KafkaTopic against its cluster, through the Kafka protocol (the same calls any
 * admin client makes), as a linear chain of named steps like the cluster reconciler:
 *   finalizer (add on first sight; on deletion delete the Kafka topic unless the resource says
 *   retain, then remove it) → validate (the schema's defaults) → cluster (label
 *   sluice.dev/cluster, same namespace) → then over one admin connection: brokers (enough for the replication factor) →
 *   topic (create when missing) → partitions (grow, reject a decrease) → replication factor
 *   (partition reassignment, KIP-455: submit, then report progress until
 *   ListPartitionReassignments is empty and Metadata shows the new replica count) → config
 *   (AlterConfigs replaces the topic's overrides with the spec's, which also reverts drift made by
 *   anyone else) → status.
 * A step returns null to go on, or an Outcome: `brokers` and `topic` end the chain with it,
 * `partitions` and `replication factor` report it while the later steps still run. A periodic
 * resync runs the chain again, so drift is found without a Kubernetes event.
 */
import type { Logger } from 'pino';
import { SchemaError } from './api/structural.js';
import { outcomeConditions } from './conditions.js';
import { resourceFor, type KubeClient } from './kube/client.js';
import {
  KafkaAdminError,
  RESOURCE_TOPIC,
  withAdmin,
  type KafkaAdminClient,
  type TopicDescription,
} from './kafka/admin-client.js';
import { AssignmentError, planReplicationFactor } from './model/replica-assignment.js';
import { withClusterDefaults, withTopicDefaults, type Undefaulted } from './model/defaults.js';
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
  findCluster: (namespace: string, name: string) => Undefaulted<KafkaCluster> | undefined;
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

/** What every step of one reconcile works on. */
interface TopicContext {
  key: string;
  raw: Undefaulted<KafkaTopic>;
  topic: KafkaTopic;
  /** The topic's name in Kafka. */
  name: string;
  /** spec.config as Kafka wants it: values are strings (YAML may give numbers). */
  config: Record<string, string>;
  log: Logger;
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

  async reconcile(raw: Undefaulted<KafkaTopic> | undefined, key: string): Promise<ReconcileResult> {
    if (!raw) {
      this.#submitted.delete(key);
      return {};
    }

    const name = raw.spec?.topicName ?? raw.metadata.name;
    const log = this.#o.log.child({ kafkaTopic: key, topic: name });

    // Step: finalizer.
    if (raw.metadata.deletionTimestamp) {
      await this.#finalize(raw, name, log);
      return {};
    }
    if (!(raw.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) {
      await this.#addFinalizer(raw);
      // The update event brings it back with the finalizer.
      return {};
    }

    // Step: validate (the schema's defaults; what the API server would refuse is InvalidSpec).
    let topic: KafkaTopic;
    try {
      topic = withTopicDefaults(raw);
    } catch (err) {
      if (!(err instanceof SchemaError)) throw err;
      await this.#writeStatus(raw, raw.status ?? {}, {
        ready: false,
        degraded: true,
        reason: REASON.InvalidSpec,
        message: err.message,
      });
      return { requeueAfterMs: this.#o.resyncMs };
    }
    const ctx: TopicContext = {
      key,
      raw,
      topic,
      name,
      config: Object.fromEntries(Object.entries(topic.spec.config ?? {}).map(([k, v]) => [k, String(v)])),
      log,
    };

    // Step: cluster.
    const cluster = this.#cluster(raw);
    if ('missing' in cluster) {
      await this.#writeStatus(
        topic,
        {},
        { ready: false, reason: REASON.ClusterNotFound, message: cluster.missing },
      );
      return { requeueAfterMs: this.#o.resyncMs };
    }

    // Steps over one admin connection: brokers → topic → partitions → replication factor → config.
    let status: KafkaTopicStatus = { topicName: name };
    let outcome: Outcome;
    try {
      ({ status, outcome } = await withAdmin(this.#o.endpoints.bootstrap(cluster.cluster), (admin) =>
        this.#sync(ctx, cluster.cluster, admin),
      ));
    } catch (err) {
      const unreachable = !(err instanceof KafkaAdminError) || err.code === 'NETWORK_EXCEPTION';
      log.warn({ err: errMessage(err) }, 'topic reconcile failed');
      await this.#writeStatus(
        topic,
        { ...(raw.status ?? {}), topicName: name },
        {
          ready: false,
          degraded: true,
          reason: unreachable ? REASON.ClusterUnreachable : REASON.KafkaError,
          message: errMessage(err),
        },
      );
      throw err;
    }

    // Step: status.
    await this.#writeStatus(topic, status, outcome);
    return {
      requeueAfterMs:
        outcome.reason === REASON.ReassignmentInProgress ? (this.#o.progressMs ?? 2000) : this.#o.resyncMs,
    };
  }

  /** The chain's Kafka part; the status it learnt and the outcome of the first step that had one. */
  async #sync(
    ctx: TopicContext,
    cluster: KafkaCluster,
    admin: KafkaAdminClient,
  ): Promise<{ status: KafkaTopicStatus; outcome: Outcome }> {
    const status: KafkaTopicStatus = { topicName: ctx.name };

    // Step: brokers.
    const tooFew = await this.#brokers(ctx, cluster, admin);
    if (tooFew) return { status, outcome: tooFew };

    // Step: topic.
    const current = await this.#ensureTopic(ctx, admin);
    if ('outcome' in current) return { status, outcome: current.outcome };
    Object.assign(status, {
      topicId: current.topicId,
      partitions: current.partitions,
      replicas: current.replicationFactor,
    });

    // Step: partitions.
    const partitions = await this.#partitions(ctx, admin, current);
    if (!partitions.outcome) status.partitions = partitions.count;

    // Step: replication factor.
    const replication = await this.#replicationFactor(ctx, admin);

    // Step: config.
    await this.#config(ctx, admin);

    return {
      status,
      outcome: partitions.outcome ??
        replication ?? {
          ready: true,
          reason: REASON.Ready,
          message: `topic ${ctx.name}: ${status.partitions} partition(s), replication factor ${status.replicas}`,
        },
    };
  }

  /** Step "finalizer" of a deleted KafkaTopic: delete the Kafka topic (unless retained), then let go. */
  async #finalize(topic: Undefaulted<KafkaTopic>, name: string, log: Logger): Promise<void> {
    if (!(topic.metadata.finalizers ?? []).includes(TOPIC_FINALIZER)) return;
    const retain = topic.metadata.annotations?.[ANNOTATIONS.deletionPolicy] === 'retain';
    const cluster = this.#cluster(topic);
    if (!retain && 'cluster' in cluster) {
      const deleted = await withAdmin(this.#o.endpoints.bootstrap(cluster.cluster), (a) =>
        a.deleteTopic(name),
      );
      log.info({ deleted }, 'deleted Kafka topic for deleted KafkaTopic');
    } else {
      log.info(
        { retain, clusterFound: 'cluster' in cluster },
        'KafkaTopic deleted; Kafka topic left in place',
      );
    }
    await this.#removeFinalizer(topic);
  }

  async #addFinalizer(topic: Undefaulted<KafkaTopic>): Promise<void> {
    await this.#o.client.jsonPatch(KAFKA_TOPIC, topic.metadata.namespace, topic.metadata.name, [
      { op: 'test', path: '/metadata/resourceVersion', value: topic.metadata.resourceVersion },
      topic.metadata.finalizers
        ? { op: 'add', path: '/metadata/finalizers/-', value: TOPIC_FINALIZER }
        : { op: 'add', path: '/metadata/finalizers', value: [TOPIC_FINALIZER] },
    ]);
  }

  async #removeFinalizer(topic: Undefaulted<KafkaTopic>): Promise<void> {
    const finalizers = topic.metadata.finalizers ?? [];
    const i = finalizers.indexOf(TOPIC_FINALIZER);
    if (i < 0) return;
    await this.#o.client.jsonPatch(KAFKA_TOPIC, topic.metadata.namespace, topic.metadata.name, [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: TOPIC_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ]);
  }

  /** Step "cluster": the KafkaCluster named by the topic's label (defaulted), or why there is none. */
  #cluster(topic: Undefaulted<KafkaTopic>): { cluster: KafkaCluster } | { missing: string } {
    const ns = topic.metadata.namespace ?? 'default';
    const clusterName = topic.metadata.labels?.[LABELS.cluster];
    if (!clusterName) return { missing: `label ${LABELS.cluster} is missing` };
    const found = this.#o.findCluster(ns, clusterName);
    if (!found) return { missing: `KafkaCluster ${ns}/${clusterName} not found` };
    try {
      return { cluster: withClusterDefaults(found) };
    } catch (err) {
      if (!(err instanceof SchemaError)) throw err;
      return { missing: `KafkaCluster ${ns}/${clusterName} has an invalid spec: ${err.message}` };
    }
  }

  /** Step "brokers": a replication factor above the brokers there are cannot be met. */
  async #brokers(ctx: TopicContext, cluster: KafkaCluster, admin: KafkaAdminClient): Promise<Outcome | null> {
    const live = (await admin.describeCluster()).brokers.length;
    const brokers = Math.max(live, cluster.spec.replicas);
    const want = ctx.topic.spec.replicas;
    if (want <= brokers) return null;
    return {
      ready: false,
      degraded: true,
      reason: REASON.InsufficientBrokers,
      message: `replicas ${want} > ${brokers} brokers`,
    };
  }

  /** Step "topic": the topic as Kafka describes it, created first when missing. */
  async #ensureTopic(
    ctx: TopicContext,
    admin: KafkaAdminClient,
  ): Promise<TopicDescription | { outcome: Outcome }> {
    const { name, topic, config, log } = ctx;
    const existing = await admin.describeTopic(name);
    if (existing) return existing;
    if (ctx.raw.status?.topicId) this.#o.onDrift?.('missing');
    const { partitions, replicas } = topic.spec;
    log.info({ partitions, replicas }, 'creating topic');
    try {
      await admin.createTopic(name, partitions, replicas, config);
    } catch (err) {
      if (!(err instanceof KafkaAdminError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err;
    }
    return (
      (await admin.describeTopic(name)) ?? {
        outcome: {
          ready: false,
          reason: REASON.Creating,
          message: 'topic created; waiting for it to appear in metadata',
        },
      }
    );
  }

  /** Step "partitions": grow to the spec's count; a decrease is refused (Kafka cannot shrink). */
  async #partitions(
    ctx: TopicContext,
    admin: KafkaAdminClient,
    current: TopicDescription,
  ): Promise<{ count: number; outcome?: Outcome }> {
    const want = ctx.topic.spec.partitions;
    if (want < current.partitions)
      return {
        count: current.partitions,
        outcome: {
          ready: false,
          degraded: true,
          reason: REASON.PartitionDecreaseRejected,
          message: `partitions cannot decrease (topic has ${current.partitions}, spec asks for ${want})`,
        },
      };
    if (want > current.partitions) {
      ctx.log.info({ from: current.partitions, to: want }, 'increasing partitions');
      await admin.createPartitions(ctx.name, want);
    }
    return { count: want };
  }

  /**
   * Step "replication factor": null when every partition has the spec's replica count and no
   * reassignment runs; else what is in progress (or why it cannot be done). Waits for a running
   * reassignment rather than replacing it.
   */
  async #replicationFactor(ctx: TopicContext, admin: KafkaAdminClient): Promise<Outcome | null> {
    const { key, name, log } = ctx;
    const want = ctx.topic.spec.replicas;
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

  /** Step "config": the topic's overrides become exactly spec.config (drift is reverted). */
  async #config(ctx: TopicContext, admin: KafkaAdminClient): Promise<void> {
    const overrides = await admin.topicOverrides(ctx.name);
    if (sameConfig(overrides, ctx.config)) return;
    ctx.log.info({ from: overrides, to: ctx.config }, 'setting topic configs');
    this.#o.onDrift?.('config');
    await admin.alterConfigs(RESOURCE_TOPIC, ctx.name, ctx.config);
  }

  async #writeStatus(topic: Undefaulted<KafkaTopic>, status: KafkaTopicStatus, o: Outcome): Promise<void> {
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
