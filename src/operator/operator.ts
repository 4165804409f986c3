/**
 * The operator process: informers on KafkaCluster, KafkaTopic, broker Pods and StatefulSets, one
 * work queue per kind, the two reconcilers, a periodic resync, and an HTTP server with /metrics,
 * /healthz and /readyz. Nothing here exits on an API error: watches restart with backoff and
 * failed reconciles are retried with per-object backoff.
 *
 * With leader election every replica runs its informers (so a standby is warm and Ready), but only
 * the Lease holder queues and runs reconciles. Losing the Lease stops the queues for good and calls
 * `onLeadershipLost` (the CLI exits so the pod restarts as a fresh standby); stop() releases it.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  ClusterReconciler,
  KAFKA_CLUSTER,
  inClusterEndpoints,
  type ClusterEndpoints,
} from './cluster-reconciler.js';
import { Informer, keyOf, splitKey } from './kube/informer.js';
import { resourceFor, type AnyObject, type KubeClient } from './kube/client.js';
import { LeaderElector, type LeaderElectionConfig } from './leader-election.js';
import { KAFKA_TOPIC, TopicReconciler } from './topic-reconciler.js';
import type { Undefaulted } from './model/defaults.js';
import type { StuckPodThresholds } from './stuck-pod.js';
import { LABELS, type KafkaCluster, type KafkaTopic } from './types.js';
import { WorkQueue } from './work-queue.js';

export interface OperatorOptions {
  client: KubeClient;
  log: Logger;
  /** Watch one namespace, or every namespace when undefined. */
  namespace?: string;
  endpoints?: ClusterEndpoints;
  /** Resync period for drift detection (ms). */
  resyncMs?: number;
  progressMs?: number;
  workers?: number;
  /** The ClusterRole bound to broker ServiceAccounts for rack awareness (default sluice-broker). */
  brokerClusterRole?: string;
  /** When a broker pod counts as stuck and is replaced at once (stuck-pod.ts has the defaults). */
  stuckPods?: Partial<StuckPodThresholds>;
  /** host:port for /metrics, /healthz, /readyz; undefined = no HTTP server. */
  httpListen?: { host: string; port: number };
  /** Reconcile only while holding this Lease; undefined = always (a single replica). */
  leaderElection?: LeaderElectionConfig;
  /** The Lease was lost: reconciling has stopped and will not resume in this Operator. */
  onLeadershipLost?: () => void;
}

export class Operator {
  readonly registry = new Registry();
  readonly #o: OperatorOptions;
  // As stored: the API server defaulted them, unless an older CRD stored them (reconcilers default).
  readonly #clusters: Informer<Undefaulted<KafkaCluster> & AnyObject>;
  readonly #topics: Informer<Undefaulted<KafkaTopic> & AnyObject>;
  readonly #pods: Informer<AnyObject>;
  readonly #statefulSets: Informer<AnyObject>;
  readonly clusterQueue: WorkQueue;
  readonly topicQueue: WorkQueue;
  readonly #clusterReconciler: ClusterReconciler;
  readonly #topicReconciler: TopicReconciler;
  #server: Server | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  readonly #elector: LeaderElector | null;
  #leading = false;
  readonly #leaderGauge: Gauge;

  constructor(o: OperatorOptions) {
    this.#o = o;
    const { client, log } = o;
    const resyncMs = o.resyncMs ?? 60_000;
    const endpoints = o.endpoints ?? inClusterEndpoints;
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_operator_process_' });
    const reconciles = new Counter({
      name: 'sluice_operator_reconcile_total',
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
    });
    const duration = new Histogram({
      name: 'sluice_operator_reconcile_duration_seconds',
      help: 'Reconcile duration',
      labelNames: ['kind'],
      registers: [this.registry],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    });
    const watchRestarts = new Counter({
      name: 'sluice_operator_watch_restarts_total',
      help: 'Watches restarted after an error',
      labelNames: ['resource'],
      registers: [this.registry],
    });
    const drift = new Counter({
      name: 'sluice_operator_topic_drift_corrections_total',
      help: 'Topic drift corrected (config, partitions, missing topic)',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.#leaderGauge = new Gauge({
      name: 'sluice_operator_leader',
      help: '1 while this operator replica holds the leader Lease and reconciles, else 0',
      registers: [this.registry],
    });
    this.#leaderGauge.set(0);
    this.#elector = o.leaderElection
      ? new LeaderElector(client, o.leaderElection, log, {
          onStartedLeading: () => this.#startLeading(),
          onStoppedLeading: () => this.#lostLeadership(),
        })
      : null;
    const queues = () =>
      [
        ['KafkaCluster', this.clusterQueue],
        ['KafkaTopic', this.topicQueue],
      ] as const;
    new Gauge({
      name: 'sluice_operator_queue_depth',
      help: 'Keys waiting in the work queues',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const [kind, q] of queues()) this.set({ kind }, q.length);
      },
    });

    this.#clusterReconciler = new ClusterReconciler({
      client,
      log,
      endpoints,
      resyncMs,
      progressMs: o.progressMs ?? 10_000,
      brokerClusterRole: o.brokerClusterRole,
      ...(o.stuckPods ? { stuckPods: o.stuckPods } : {}),
    });
    this.#topicReconciler = new TopicReconciler({
      client,
      log,
      endpoints,
      resyncMs,
      findCluster: (ns, name) => this.#clusters.get(`${ns}/${name}`),
      onDrift: (kind) => drift.inc({ kind }),
    });
    const queueOpts = (kind: string) => ({
      workers: o.workers ?? 2,
      onError: (key: string, err: unknown, retryInMs: number) =>
        log.warn(
          { kind, key, retryInMs, err: err instanceof Error ? err.message : String(err) },
          'reconcile failed; will retry',
        ),
      onDone: (_key: string, ms: number, ok: boolean) => {
        reconciles.inc({ kind, result: ok ? 'success' : 'error' });
        duration.observe({ kind }, ms / 1000);
      },
    });
    this.clusterQueue = new WorkQueue(
      (key) => this.#clusterReconciler.reconcile(this.#clusters.get(key), key),
      queueOpts('KafkaCluster'),
    );
    this.topicQueue = new WorkQueue(
      (key) => this.#topicReconciler.reconcile(this.#topics.get(key), key),
      queueOpts('KafkaTopic'),
    );

    const restart = (resource: string) => () => watchRestarts.inc({ resource });
    this.#clusters = new Informer(client, KAFKA_CLUSTER, {
      namespace: o.namespace,
      log,
      onRestart: restart('kafkaclusters'),
      onChange: (key, obj) => {
        if (!this.#leading) return;
        this.clusterQueue.add(key);
        // Topics waiting for this cluster (or whose cluster went away) get another look.
        const { namespace, name } = splitKey(key);
        for (const t of this.#topics.list())
          if (t.metadata.namespace === namespace && t.metadata.labels?.[LABELS.cluster] === name)
            this.topicQueue.add(keyOf(t));
        void obj;
      },
    });
    this.#topics = new Informer(client, KAFKA_TOPIC, {
      namespace: o.namespace,
      log,
      onRestart: restart('kafkatopics'),
      onChange: (key) => {
        if (this.#leading) this.topicQueue.add(key);
      },
    });
    // Broker pods and StatefulSets: any change wakes the owning cluster (readiness, revisions).
    const owner = (obj: AnyObject | undefined) => {
      const labels = obj?.metadata.labels as Record<string, string> | undefined;
      const inst = labels?.[LABELS.instance];
      if (obj && inst && this.#leading) this.clusterQueue.add(`${obj.metadata.namespace}/${inst}`);
    };
    const selector = `${LABELS.name}=sluice,${LABELS.component}=broker`;
    this.#pods = new Informer(client, resourceFor('v1', 'Pod'), {
      namespace: o.namespace,
      labelSelector: selector,
      log,
      onRestart: restart('pods'),
      onChange: (_k, obj) => owner(obj),
    });
    this.#statefulSets = new Informer(client, resourceFor('apps/v1', 'StatefulSet'), {
      namespace: o.namespace,
      labelSelector: `${LABELS.managedBy}=sluice-operator`,
      log,
      onRestart: restart('statefulsets'),
      onChange: (_k, obj) => owner(obj),
    });
  }

  get synced(): boolean {
    return this.#clusters.synced && this.#topics.synced;
  }

  async start(): Promise<void> {
    const { log } = this.#o;
    if (this.#o.httpListen) await this.#startHttp(this.#o.httpListen);
    for (const i of [this.#clusters, this.#topics, this.#pods, this.#statefulSets]) i.start();
    await Promise.all([this.#clusters.waitForSync(), this.#topics.waitForSync()]);
    const resyncMs = this.#o.resyncMs ?? 60_000;
    if (this.#elector) this.#elector.run();
    else this.#startLeading();
    log.info(
      {
        namespace: this.#o.namespace ?? '(all)',
        resyncMs,
        leaderElection: this.#elector ? this.#elector.identity : false,
      },
      'operator started',
    );
  }

  /** True while this replica reconciles (always without leader election, once started). */
  get leading(): boolean {
    return this.#leading;
  }

  #startLeading(): void {
    this.#leading = true;
    this.#leaderGauge.set(1);
    const enqueueAll = () => {
      for (const c of this.#clusters.list()) this.clusterQueue.add(keyOf(c));
      for (const t of this.#topics.list()) this.topicQueue.add(keyOf(t));
    };
    enqueueAll();
    this.#resyncTimer = setInterval(enqueueAll, this.#o.resyncMs ?? 60_000);
    this.#resyncTimer.unref();
  }

  #lostLeadership(): void {
    this.#leading = false;
    this.#leaderGauge.set(0);
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.#resyncTimer = null;
    this.clusterQueue.stop();
    this.topicQueue.stop();
    this.#o.onLeadershipLost?.();
  }

  async #startHttp(listen: { host: string; port: number }): Promise<void> {
    this.#server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/metrics')) {
        this.registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'Content-Type': this.registry.contentType });
            res.end(body);
          },
          (err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
      } else if (url.startsWith('/healthz')) {
        res.writeHead(200);
        res.end('ok');
      } else if (url.startsWith('/readyz')) {
        res.writeHead(this.synced ? 200 : 503);
        res.end(this.synced ? 'ok' : 'informers not synced');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(listen.port, listen.host, () => resolve());
    });
  }

  get httpPort(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async stop(): Promise<void> {
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.#leading = false;
    this.clusterQueue.stop();
    this.topicQueue.stop();
    await Promise.all([
      this.#clusters.stop(),
      this.#topics.stop(),
      this.#pods.stop(),
      this.#statefulSets.stop(),
    ]);
    await Promise.all([this.clusterQueue.idle(), this.topicQueue.idle()]);
    // Only now, with no reconcile running, hand the Lease over.
    await this.#elector?.stop();
    this.#leaderGauge.set(0);
    this.#clusterReconciler.close();
    if (this.#server) await new Promise<void>((r) => this.#server!.close(() => r()));
  }
}
