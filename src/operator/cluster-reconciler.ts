/**
 * Reconciles one KafkaCluster as a linear chain of named, idempotent steps (Strimzi's
 * KafkaReconciler.reconcile()):
 *   validate → rack RBAC (rack-rbac.ts) → external addresses (what the brokers' external Services
 *   got; listeners.ts) → objects (server-side apply of every desired object, in order) → prune →
 *   dynamicConfig (live AlterConfigs on the cluster default) → roll (one decision at most: repair a
 *   stuck pod of an old revision, or one safe restart; roller.ts) → rebalance (partition
 *   reassignments onto the brokers the spec asks for; model/rebalance.ts) → status (last, /status
 *   only). A scale-down runs its drain before the objects step: the StatefulSet keeps its replicas
 *   until no partition has a replica on the brokers that go and every ISR is full.
 * A step that cannot finish yet says so; the chain then still writes status and asks for a requeue.
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { SchemaError } from './api/structural.js';
import { outcomeConditions } from './conditions.js';
import { EventRecorder } from './events.js';
import { KubeApiError, resourceFor, type KubeClient } from './kube/client.js';
import type { Wire } from './kube/objects.js';
import { RESOURCE_BROKER, withAdmin, type KafkaAdminClient } from './kafka/admin-client.js';
import { planRebalance, replicasOutside, type RebalancePlan } from './model/rebalance.js';
import { withClusterDefaults, type Undefaulted } from './model/defaults.js';
import {
  brokerConfigPlan,
  brokerLabelSelector,
  clusterSpecProblems,
  desiredObjects,
  type KubeObject,
} from './model/kafka-cluster-model.js';
import { internalBootstrap, names, PORTS, brokerHost } from './model/names.js';
import { externalAddresses, listenerStatus, type ServiceView } from './model/listeners.js';
import { finalizeCluster, hasClusterFinalizer, reconcileRackRbac } from './rack-rbac.js';
import { RestartGate } from './restart-gate.js';
import { Roller, pendingRestart, type BrokerPod, type RollStep } from './roller.js';
import { DEFAULT_STUCK_POD_THRESHOLDS, stuckPod, type StuckPodThresholds } from './stuck-pod.js';
import {
  ANNOTATIONS,
  API_VERSION,
  DEFAULT_BROKER_CLUSTER_ROLE,
  FIELD_MANAGER,
  REASON,
  type KafkaCluster,
  type KafkaClusterStatus,
} from './types.js';
import type { ReconcileResult } from './work-queue.js';

export const KAFKA_CLUSTER = resourceFor(API_VERSION, 'KafkaCluster');
const POD = resourceFor('v1', 'Pod');
const STS = resourceFor('apps/v1', 'StatefulSet');
const SERVICE = resourceFor('v1', 'Service');

export interface ClusterEndpoints {
  /** Kafka bootstrap address the operator uses to reach the cluster. */
  bootstrap(cluster: KafkaCluster): string;
  /** broker id → control-plane address. */
  control(cluster: KafkaCluster): Map<number, string>;
}

/** In-cluster DNS: the bootstrap Service and each broker's pod name through the headless Service. */
export const inClusterEndpoints: ClusterEndpoints = {
  bootstrap: (c) => internalBootstrap(c),
  control: (c) =>
    new Map(
      Array.from({ length: c.spec.replicas }, (_, id) => [id, `${brokerHost(c, id)}:${PORTS.control}`]),
    ),
};

export interface ClusterReconcilerOptions {
  client: KubeClient;
  log: Logger;
  endpoints: ClusterEndpoints;
  /** Re-check a healthy cluster this often (ms). */
  resyncMs: number;
  /** While a roll or a wait is in progress, re-check this often (ms). */
  progressMs: number;
  /** The ClusterRole (from the chart) bound to broker pods for rack awareness. */
  brokerClusterRole?: string;
  /** When a broker pod counts as stuck (stuck-pod.ts); the defaults are documented there. */
  stuckPods?: Partial<StuckPodThresholds>;
}

interface StepOutcome {
  ready: boolean;
  reconciling: boolean;
  degraded: boolean;
  reason: string;
  message: string;
}

/** An existing KafkaCluster as stored (the API server defaulted it; an older CRD may not have). */
export type StoredKafkaCluster = Undefaulted<KafkaCluster>;

export class ClusterReconciler {
  readonly #o: ClusterReconcilerOptions;
  readonly #gates = new Map<string, RestartGate>();
  /**
   * Clusters whose rebalance this operator submitted and has not yet completed (preferred leaders
   * elected, Rebalanced recorded). The status says so too, but a reconcile may run on an object read
   * before that status write landed; small moves can finish by then, and the completion step must
   * not be skipped. The status still covers an operator restart.
   */
  readonly #rebalancing = new Set<string>();
  /** Clusters whose refused scale-down has had its ScaleDownBlocked Event (once per episode; same reason). */
  readonly #blocked = new Set<string>();
  /**
   * Clusters this process has reconciled. The two sets above start from the status only the first
   * time (an operator restarted mid-episode resumes it); afterwards the status read back may be
   * older than what this process wrote, and the sets alone decide (else a completed rebalance looked
   * unfinished again and its Rebalanced Event came twice).
   */
  readonly #adopted = new Set<string>();
  readonly #events: EventRecorder;
  readonly #stuck: StuckPodThresholds;

  constructor(o: ClusterReconcilerOptions) {
    this.#o = o;
    this.#events = new EventRecorder(o.client, o.log);
    this.#stuck = { ...DEFAULT_STUCK_POD_THRESHOLDS, ...o.stuckPods };
  }

  #gate(cluster: KafkaCluster): RestartGate {
    const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    let g = this.#gates.get(key);
    if (!g) {
      g = new RestartGate(() => this.#o.endpoints.control(cluster));
      this.#gates.set(key, g);
    }
    return g;
  }

  async reconcile(raw: StoredKafkaCluster | undefined, key: string): Promise<ReconcileResult> {
    if (!raw || raw.metadata.deletionTimestamp) {
      // Owner references make the garbage collector delete what the operator created.
      this.#gates.get(key)?.close();
      this.#gates.delete(key);
      this.#rebalancing.delete(key);
      this.#blocked.delete(key);
      this.#adopted.delete(key);
      // Cluster-scoped objects have no owner reference: the finalizer step deletes them.
      if (raw && hasClusterFinalizer(raw))
        await finalizeCluster(this.#o.client, raw, this.#o.log.child({ kafkaCluster: key }));
      return {};
    }
    const log = this.#o.log.child({ kafkaCluster: key, generation: raw.metadata.generation });
    this.#adopt(raw, `${raw.metadata.namespace}/${raw.metadata.name}`);

    // Step: validate. An invalid spec leaves every existing object as it is.
    const valid = this.#validate(raw);
    if ('problems' in valid) {
      log.warn({ problems: valid.problems }, 'invalid KafkaCluster spec');
      await this.#writeStatus(raw, { ...(raw.status ?? {}) }, valid.outcome);
      return { requeueAfterMs: this.#o.resyncMs };
    }
    const cluster = valid.cluster;
    const plan = brokerConfigPlan(cluster);

    // Step: rack RBAC (finalizer + ClusterRoleBinding for the broker ServiceAccount).
    await reconcileRackRbac(
      this.#o.client,
      cluster,
      this.#o.brokerClusterRole ?? DEFAULT_BROKER_CLUSTER_ROLE,
      log,
    );

    // Step: external addresses. The brokers advertise what their external Services got (node
    // port, load-balancer ingress); until every one is known the StatefulSet is not applied.
    const external = externalAddresses(cluster, await this.#services(cluster));

    // Step: drain (a scale-down only). Until the brokers that go hold no replica and every ISR is
    // full, the StatefulSet keeps its current replicas.
    const before = await this.#o.client.getOrNull<Wire<V1StatefulSet>>(
      STS,
      cluster.metadata.namespace,
      names.statefulSet(cluster.metadata.name),
    );
    const current = before?.spec?.replicas;
    const scalingDown = current !== undefined && current > cluster.spec.replicas;
    if (!scalingDown) this.#blocked.delete(`${cluster.metadata.namespace}/${cluster.metadata.name}`);
    const drain = scalingDown ? await this.#drain(cluster, current, log) : null;

    // Step: objects.
    const desired = desiredObjects(
      cluster,
      external && external.missing.length === 0 ? external.addresses : null,
    );
    if (drain && current !== undefined) {
      const set = desired.find(
        (o) => o.kind === 'StatefulSet' && o.metadata.name === names.statefulSet(cluster.metadata.name),
      ) as (KubeObject & { spec?: { replicas?: number } }) | undefined;
      if (set?.spec) set.spec.replicas = current;
    }
    await this.#applyObjects(desired, log);

    // Step: prune objects a smaller spec no longer asks for (external per-broker Services).
    await this.#prune(cluster, desired, log);

    // Read back what the StatefulSet controller and kubelets report.
    const sts = await this.#o.client.getOrNull<Wire<V1StatefulSet>>(
      STS,
      cluster.metadata.namespace,
      names.statefulSet(cluster.metadata.name),
    );
    const pods = await this.#brokerPods(cluster);
    const readyPods = pods.filter((p) => p.ready).length;

    // Step: dynamic config, applied live (never a restart). Also when the spec has none: a
    // dynamic key removed from the spec must be removed from the brokers.
    const dynamicNote = readyPods > 0 ? await this.#dynamicConfig(cluster, plan.dynamic, log) : '';

    // Step: roll (one decision at most).
    const updateRevision = sts?.status?.updateRevision;
    const roll = await this.#roll(cluster, pods, updateRevision, log);

    // Step: rebalance (the brokers are the spec's, all Ready, no restart pending).
    const balance =
      drain ??
      (roll.kind === 'idle' && readyPods === cluster.spec.replicas && pods.length === cluster.spec.replicas
        ? await this.#rebalance(cluster, log)
        : null);

    // Step: status.
    const status = await this.#status(raw, cluster, pods, roll);
    let outcome =
      external && external.missing.length > 0
        ? {
            ready: false,
            reconciling: true,
            degraded: false,
            reason: REASON.WaitingForExternalAddresses,
            message: `waiting for the external Services of brokers ${external.missing.join(', ')} to get an address`,
          }
        : this.#outcome(cluster, readyPods, roll, dynamicNote);
    if (balance && (roll.kind === 'idle' || drain)) outcome = balance;
    await this.#writeStatus(cluster, status, outcome);
    return { requeueAfterMs: outcome.ready ? this.#o.resyncMs : this.#o.progressMs };
  }

  /** The first time this process sees the cluster: resume an episode its status shows in progress. */
  #adopt(cluster: StoredKafkaCluster, key: string): void {
    if (this.#adopted.has(key)) return;
    this.#adopted.add(key);
    const reason = cluster.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason;
    if (reason === REASON.Rebalancing) this.#rebalancing.add(key);
    if (reason === REASON.ScaleDownBlocked) this.#blocked.add(key);
  }

  /**
   * Step "drain", before a scale-down from `current` brokers to the spec's: move every replica
   * off the brokers that go (AlterPartitionReassignments), wait for the reassignments to finish
   * and every ISR to be full. Null when the StatefulSet may shrink now; else the outcome to report
   * while it keeps its replicas (Rebalancing, or ScaleDownBlocked when a partition's replication
   * factor exceeds the brokers that remain).
   */
  async #drain(cluster: KafkaCluster, current: number, log: Logger): Promise<StepOutcome | null> {
    const keep = Array.from({ length: cluster.spec.replicas }, (_, i) => i);
    const going = Array.from({ length: current - keep.length }, (_, i) => keep.length + i);
    const what = `scale-down ${current} → ${keep.length} (brokers ${going.join(', ')} go)`;
    const waiting = (message: string): StepOutcome => ({
      ready: false,
      reconciling: true,
      degraded: false,
      reason: REASON.Rebalancing,
      message: `${what}: ${message}`,
    });
    try {
      return await withAdmin(this.#o.endpoints.bootstrap(cluster), async (admin) => {
        const ongoing = await admin.listAllReassignments();
        const { brokers, topics } = await admin.placements();
        const assignment = new Map([...topics].map(([t, ps]) => [t, ps.map((p) => p.replicas)]));
        const outside = replicasOutside(assignment, keep);
        if (ongoing.length > 0)
          return waiting(
            `${ongoing.length} partition reassignments in progress; ${outside.length} partitions still on the brokers that go`,
          );
        if (outside.length === 0) {
          const lagging = [...topics].flatMap(([t, ps]) =>
            ps.flatMap((p, i) => (p.isr.length < p.replicas.length ? [`${t}-${i}`] : [])),
          );
          if (lagging.length > 0)
            return waiting(
              `waiting for a full ISR in ${lagging.length} partitions (${lagging.slice(0, 5).join(', ')})`,
            );
          log.info({ from: current, to: keep.length }, 'brokers drained: shrinking the StatefulSet');
          await this.#events.record(cluster, {
            type: 'Normal',
            reason: REASON.Rebalanced,
            message: `${what}: no partition left on brokers ${going.join(', ')}, every ISR full; shrinking the StatefulSet`,
          });
          return null;
        }
        const missing = keep.filter((id) => !brokers.includes(id));
        if (missing.length > 0) return waiting(`brokers ${missing.join(', ')} not registered`);
        const plan = planRebalance(assignment, keep);
        if (plan.impossible.length > 0) {
          const worst = Math.max(...plan.impossible.map((p) => p.replicationFactor));
          const message =
            `${what} refused: ${plan.impossible.length} partitions have up to ${worst} replicas, more than the ` +
            `${keep.length} brokers that would remain (${plan.impossible
              .slice(0, 5)
              .map((p) => `${p.topic}-${p.partition}`)
              .join(', ')}); lower their replication factor or keep spec.replicas ≥ ${worst}`;
          const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
          if (!this.#blocked.has(key)) {
            log.warn({ impossible: plan.impossible.length }, 'scale-down refused');
            await this.#events.record(cluster, { type: 'Warning', reason: REASON.ScaleDownBlocked, message });
          }
          this.#blocked.add(key);
          return {
            ready: false,
            reconciling: false,
            degraded: true,
            reason: REASON.ScaleDownBlocked,
            message,
          };
        }
        await this.#submit(admin, plan);
        const message = `moving ${plan.replicaMoves} replicas (${plan.moves.length} partitions) off brokers ${going.join(', ')}`;
        log.info({ moves: plan.moves.length, replicaMoves: plan.replicaMoves }, message);
        await this.#events.record(cluster, {
          type: 'Normal',
          reason: REASON.Rebalancing,
          message: `${what}: ${message}`,
        });
        return waiting(message);
      });
    } catch (err) {
      log.warn({ err: errMessage(err) }, 'scale-down: cannot drain yet');
      return waiting(`cannot reach the brokers yet: ${errMessage(err)}`);
    }
  }

  /**
   * Step "rebalance": with the spec's brokers all Ready, reassign partitions so every broker holds
   * its share of each topic (after a scale-up: the new brokers get theirs). Null when balanced and
   * nothing in progress. On completion (every ISR full) the preferred leaders are elected.
   */
  async #rebalance(cluster: KafkaCluster, log: Logger): Promise<StepOutcome | null> {
    const keep = Array.from({ length: cluster.spec.replicas }, (_, i) => i);
    const progress = (message: string): StepOutcome => ({
      ready: true,
      reconciling: true,
      degraded: false,
      reason: REASON.Rebalancing,
      message,
    });
    const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    const wasRebalancing = this.#rebalancing.has(key);
    try {
      return await withAdmin(this.#o.endpoints.bootstrap(cluster), async (admin) => {
        const ongoing = await admin.listAllReassignments();
        if (ongoing.length > 0)
          return wasRebalancing ? progress(`${ongoing.length} partition reassignments in progress`) : null;
        const { brokers, topics } = await admin.placements();
        if (keep.some((id) => !brokers.includes(id))) return null; // not registered yet: next time
        const assignment = new Map([...topics].map(([t, ps]) => [t, ps.map((p) => p.replicas)]));
        const plan = planRebalance(assignment, keep);
        if (plan.moves.length > 0) {
          await this.#submit(admin, plan);
          this.#rebalancing.add(key);
          const message = `reassigning ${plan.moves.length} partitions (${plan.replicaMoves} replicas copied) over brokers 0-${keep.length - 1}`;
          log.info({ moves: plan.moves }, message);
          await this.#events.record(cluster, { type: 'Normal', reason: REASON.Rebalancing, message });
          return progress(message);
        }
        if (!wasRebalancing) return null;
        const lagging = [...topics].flatMap(([t, ps]) =>
          ps.flatMap((p, i) => (p.isr.length < p.replicas.length ? [`${t}-${i}`] : [])),
        );
        if (lagging.length > 0) return progress(`waiting for a full ISR in ${lagging.length} partitions`);
        const notLed = [...topics].flatMap(([topic, ps]) =>
          ps.flatMap((p, partition) =>
            p.replicas.length > 0 && p.leader !== p.replicas[0] ? [{ topic, partition }] : [],
          ),
        );
        const problems = notLed.length > 0 ? await admin.electPreferredLeaders(notLed) : [];
        const message = `partitions balanced over brokers 0-${keep.length - 1}; ${notLed.length} preferred leaders elected${problems.length > 0 ? ` (not: ${problems.slice(0, 5).join(', ')})` : ''}`;
        log.info(message);
        await this.#events.record(cluster, { type: 'Normal', reason: REASON.Rebalanced, message });
        this.#rebalancing.delete(key);
        return null;
      });
    } catch (err) {
      log.warn({ err: errMessage(err) }, 'rebalance: cannot reach the brokers');
      return wasRebalancing ? progress(`cannot reach the brokers: ${errMessage(err)}`) : null;
    }
  }

  async #submit(admin: KafkaAdminClient, plan: RebalancePlan): Promise<void> {
    const byTopic = new Map<string, Map<number, number[]>>();
    for (const m of plan.moves) {
      const t = byTopic.get(m.topic) ?? new Map<number, number[]>();
      t.set(m.partition, m.to);
      byTopic.set(m.topic, t);
    }
    for (const [topic, target] of byTopic) await admin.alterPartitionReassignments(topic, target);
  }

  /** Defaults from the schema, then every check the API server would make (schema and CEL). */
  #validate(
    raw: StoredKafkaCluster,
  ): { cluster: KafkaCluster } | { problems: string[]; outcome: StepOutcome } {
    const invalid = (reason: string, problems: string[]) => ({
      problems,
      outcome: { ready: false, reconciling: false, degraded: true, reason, message: problems.join('; ') },
    });
    let cluster: KafkaCluster;
    try {
      cluster = withClusterDefaults(raw);
    } catch (err) {
      if (err instanceof SchemaError) return invalid(REASON.InvalidSpec, err.problems);
      throw err;
    }
    const specProblems = clusterSpecProblems(cluster);
    if (specProblems.length > 0) return invalid(REASON.InvalidSpec, specProblems);
    const configProblems = brokerConfigPlan(cluster).errors;
    if (configProblems.length > 0) return invalid(REASON.InvalidConfig, configProblems);
    return { cluster };
  }

  /** Step "dynamicConfig": '' when applied (or nothing to do), else why not yet. */
  async #dynamicConfig(cluster: KafkaCluster, dynamic: Record<string, string>, log: Logger): Promise<string> {
    try {
      await withAdmin(this.#o.endpoints.bootstrap(cluster), async (admin) => {
        const current = await admin.clusterDefaultOverrides();
        if (JSON.stringify(sorted(current)) !== JSON.stringify(sorted(dynamic))) {
          log.info({ from: current, to: dynamic }, 'applying dynamic broker configs');
          await admin.alterConfigs(RESOURCE_BROKER, '', dynamic);
        }
      });
      return '';
    } catch (err) {
      log.warn({ err: errMessage(err) }, 'cannot apply dynamic broker configs yet');
      return `dynamic configs not applied yet: ${errMessage(err)}`;
    }
  }

  /**
   * Step "roll": repair a stuck pod of an old revision at once (recorded in status and as an
   * Event), or restart one pending pod through the restart gate, or wait.
   */
  async #roll(
    cluster: KafkaCluster,
    pods: BrokerPod[],
    updateRevision: string | undefined,
    log: Logger,
  ): Promise<RollStep> {
    if (pendingRestart(pods, updateRevision).length === 0) return { kind: 'idle' };
    const roller = new Roller(this.#gate(cluster), async (name) => {
      log.info({ pod: name }, 'deleting broker pod');
      await this.#o.client.delete(POD, cluster.metadata.namespace, name);
    });
    let roll: RollStep;
    try {
      roll = await roller.step(pods, cluster.spec.replicas, updateRevision);
    } catch (err) {
      roll = {
        kind: 'blocked',
        brokerId: -1,
        reasons: [errMessage(err)],
        pending: pendingRestart(pods, updateRevision).map((p) => p.id),
      };
    }
    if (roll.kind === 'repaired') {
      log.warn({ roll }, 'replaced a stuck broker pod of an old revision');
      await this.#events.record(cluster, {
        type: 'Warning',
        reason: REASON.StuckPodReplaced,
        message: repairMessage(roll),
      });
    } else if (roll.kind !== 'idle') log.info({ roll }, 'roll step');
    return roll;
  }

  async #status(
    raw: StoredKafkaCluster,
    cluster: KafkaCluster,
    pods: BrokerPod[],
    roll: RollStep,
  ): Promise<KafkaClusterStatus> {
    const readyPods = pods.filter((p) => p.ready).length;
    let controllerId = raw.status?.controllerId ?? -1;
    if (readyPods > 0) {
      try {
        controllerId = (await this.#gate(cluster).health()).controllerId;
      } catch {
        /* keep the last known */
      }
    }
    const pending = new Set(roll.kind === 'idle' ? [] : roll.pending);
    return {
      ...(raw.status ?? {}),
      replicas: pods.length,
      readyReplicas: readyPods,
      labelSelector: brokerLabelSelector(cluster),
      controllerId,
      brokers: Array.from({ length: cluster.spec.replicas }, (_, id) => {
        const p = pods.find((x) => x.id === id);
        return { id, ready: p?.ready ?? false, pendingRestart: pending.has(id) };
      }),
      listeners: listenerStatus(
        cluster,
        await this.#services(cluster),
        pods.flatMap((p) => (p.hostIP ? [p.hostIP] : [])),
      ),
      ...(roll.kind === 'repaired'
        ? {
            lastPodRepair: {
              pod: roll.pod,
              brokerId: roll.brokerId,
              reason: roll.stuck.reason,
              message: roll.stuck.message,
              time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              ...(roll.fromRevision ? { fromRevision: roll.fromRevision } : {}),
              ...(roll.toRevision ? { toRevision: roll.toRevision } : {}),
            },
          }
        : {}),
    };
  }

  #outcome(cluster: KafkaCluster, readyPods: number, roll: RollStep, dynamicNote: string): StepOutcome {
    const want = cluster.spec.replicas;
    switch (roll.kind) {
      case 'blocked':
        return {
          ready: false,
          reconciling: true,
          degraded: true,
          reason: REASON.RestartBlocked,
          message: `restart of broker ${roll.brokerId} refused: ${roll.reasons.join('; ')}`,
        };
      case 'repaired':
        return {
          ready: false,
          reconciling: true,
          degraded: false,
          reason: REASON.StuckPodReplaced,
          message: repairMessage(roll),
        };
      case 'restarted':
        return {
          ready: false,
          reconciling: true,
          degraded: false,
          reason: REASON.Restarting,
          message: `restarted broker ${roll.brokerId}; pending: ${roll.pending.filter((x) => x !== roll.brokerId).join(', ') || 'none'}`,
        };
      case 'wait':
        return {
          ready: false,
          reconciling: true,
          degraded: false,
          reason: REASON.RestartPending,
          message: roll.message,
        };
      case 'idle':
        break;
    }
    if (readyPods < want)
      return {
        ready: false,
        reconciling: true,
        degraded: false,
        reason: REASON.WaitingForBrokers,
        message: `${readyPods}/${want} brokers ready`,
      };
    return {
      ready: true,
      reconciling: false,
      degraded: false,
      reason: REASON.Ready,
      message: `${readyPods}/${want} brokers ready${dynamicNote ? `; ${dynamicNote}` : ''}`,
    };
  }

  /** The cluster's Services (for the listeners' addresses). */
  async #services(cluster: KafkaCluster): Promise<ServiceView[]> {
    if (!cluster.spec.listeners.external) return [];
    const list = await this.#o.client.list<ServiceView>(
      SERVICE,
      cluster.metadata.namespace,
      `app.kubernetes.io/instance=${cluster.metadata.name},app.kubernetes.io/managed-by=sluice-operator`,
    );
    return list.items;
  }

  async #applyObjects(objects: KubeObject[], log: Logger): Promise<void> {
    for (const obj of objects) {
      try {
        await this.#o.client.apply(obj, FIELD_MANAGER);
      } catch (err) {
        // ServiceMonitor without the Prometheus operator's CRD: skip, do not fail the cluster.
        if (obj.kind === 'ServiceMonitor' && err instanceof KubeApiError && err.notFound) {
          log.warn('ServiceMonitor requested but the monitoring.coreos.com CRD is not installed; skipping');
          continue;
        }
        throw err;
      }
    }
  }

  async #prune(cluster: KafkaCluster, desired: KubeObject[], log: Logger): Promise<void> {
    const wanted = new Set(desired.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
    const services = await this.#o.client.list<
      ServiceView & { metadata: { ownerReferences?: { uid: string }[] } }
    >(
      SERVICE,
      cluster.metadata.namespace,
      `app.kubernetes.io/instance=${cluster.metadata.name},app.kubernetes.io/managed-by=sluice-operator`,
    );
    for (const s of services.items) {
      const owned = (s.metadata.ownerReferences ?? []).some((r) => r.uid === cluster.metadata.uid);
      if (owned && !wanted.has(s.metadata.name)) {
        log.info({ service: s.metadata.name }, 'deleting Service no longer wanted');
        await this.#o.client.delete(SERVICE, cluster.metadata.namespace, s.metadata.name);
      }
    }
  }

  async #brokerPods(cluster: KafkaCluster): Promise<BrokerPod[]> {
    const list = await this.#o.client.list<Wire<V1Pod>>(
      POD,
      cluster.metadata.namespace,
      brokerLabelSelector(cluster),
    );
    const prefix = `${names.statefulSet(cluster.metadata.name)}-`;
    const now = Date.now();
    return list.items
      .flatMap((p): BrokerPod[] => {
        const md = p.metadata;
        if (!md?.name?.startsWith(prefix)) return [];
        const id = Number(md.name.slice(prefix.length));
        if (!Number.isInteger(id)) return [];
        const hostIP = p.status?.hostIP;
        return [
          {
            id,
            name: md.name,
            ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
            terminating: md.deletionTimestamp !== undefined,
            revision: md.labels?.['controller-revision-hash'],
            manualRestart: md.annotations?.[ANNOTATIONS.manualRestart] === 'true',
            stuck: stuckPod(p, now, this.#stuck),
            ...(hostIP ? { hostIP } : {}),
          },
        ];
      })
      .sort((a, b) => a.id - b.id);
  }

  async #writeStatus(cluster: StoredKafkaCluster, status: KafkaClusterStatus, o: StepOutcome): Promise<void> {
    const next: KafkaClusterStatus = {
      ...status,
      observedGeneration: cluster.metadata.generation,
      conditions: outcomeConditions(cluster.status?.conditions, cluster.metadata.generation, o),
    };
    if (JSON.stringify(next) === JSON.stringify(cluster.status ?? {})) return;
    await this.#o.client.mergePatch(
      KAFKA_CLUSTER,
      cluster.metadata.namespace,
      cluster.metadata.name,
      { status: next },
      'status',
    );
  }

  close(): void {
    for (const g of this.#gates.values()) g.close();
    this.#gates.clear();
  }
}

function repairMessage(roll: Extract<RollStep, { kind: 'repaired' }>): string {
  return (
    `replaced broker pod ${roll.pod} (broker ${roll.brokerId}): stuck on old revision ` +
    `${roll.fromRevision ?? '?'} (${roll.stuck.reason}: ${roll.stuck.message}); ` +
    `the StatefulSet recreates it at ${roll.toRevision ?? '?'}`
  );
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
