/**
 * KafkaServer: one broker's lifecycle (Kafka's KafkaServer/BrokerServer). Startup order:
 *   metadata store → metadata table → metrics → control-plane client (cluster mode) → logs
 *   (ReplicaManager, given its AlterPartition and metrics at construction) → handlers → one socket
 *   server per listener (`listeners`) → controller and control-plane server → register this broker
 *   (every advertised listener) → metrics/ready HTTP.
 * Shutdown reverses it: controlled shutdown (cluster mode), stop accepting and finish in-flight
 * requests, then the ReplicaManager's ordered shutdown (replica fetchers stopped and awaited, waiting
 * operations answered, producer state snapshotted, logs flushed and closed with the clean-shutdown
 * marker), then the controller and control plane, the registration and the store.
 *
 * Without --etcd the broker runs alone with the embedded store in <first log dir>/__metadata.json,
 * and is its own controller.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerConfig } from '../common/broker-config.js';
import { logger, type Logger } from '../common/logger.js';
import { createRegistry } from '../common/metrics.js';
import { EmbeddedMetadataStore } from '../controller/embedded-store.js';
// Cluster-mode parts (etcd client, gRPC) are imported only with --etcd: a single node does not pay
// for loading them at startup.
import type { Controller } from '../controller/controller.js';
import type { ControlPlaneServer } from '../controller/grpc/control-plane-server.js';
import type { ControlPlaneClient } from '../controller/grpc/control-plane-client.js';
import type { MetadataStore } from '../controller/metadata-store.js';
import { MetadataTable } from '../controller/metadata-table.js';
import { TopicFrontend } from '../controller/topic-frontend.js';
import { ConfigFrontend } from '../controller/config-frontend.js';
import { ClientQuotaFrontend } from '../controller/client-quota-frontend.js';
import { ClientQuotaTable } from '../controller/client-quota-table.js';
import { ClientQuotas } from './quota/client-quotas.js';
import { describeClientQuotasHandler } from './handlers/describe-client-quotas.js';
import { alterClientQuotasHandler } from './handlers/alter-client-quotas.js';
import { FeaturesTable } from '../controller/features-table.js';
import {
  LocalConfigAdmin,
  LocalClientQuotaAdmin,
  type ClientQuotaAdmin,
  LocalTopicAdmin,
  type BrokerConfigAdmin,
  type TopicAdmin,
} from '../controller/admin-writes.js';
import { claimSingleNodeController } from '../controller/write-fence.js';
import { BrokerSession } from '../controller/broker-session.js';
import type { BrokerRegistration } from '../controller/records.js';
import type { ListenerConfig } from '../common/listener-config.js';
import { KafkaApis } from './kafka-apis.js';
import { SocketServer } from './network/socket-server.js';
import { ConnectionQuotas } from './network/connection-quotas.js';
import {
  ReplicationQuotaManager,
  replicationQuotaMetrics,
  type ReplicationType,
} from './replication/replication-quota.js';
import { ReplicaManager } from './replica-manager.js';
import { ProducerIdManager } from './producer-id-manager.js';
import { BrokerMetrics } from './broker-metrics.js';
import type { BrokerServices } from './broker-services.js';
import { apiVersionsHandler } from './handlers/api-versions.js';
import { updateFeaturesHandler } from './handlers/update-features.js';
import { metadataHandler } from './handlers/metadata.js';
import { produceHandler } from './handlers/produce.js';
import { fetchHandler } from './handlers/fetch.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { createTopicsHandler } from './handlers/create-topics.js';
import { deleteTopicsHandler } from './handlers/delete-topics.js';
import { createPartitionsHandler } from './handlers/create-partitions.js';
import { describeConfigsHandler } from './handlers/describe-configs.js';
import { alterConfigsHandler, incrementalAlterConfigsHandler } from './handlers/alter-configs.js';
import { deleteRecordsHandler } from './handlers/delete-records.js';
import { describeClusterHandler } from './handlers/describe-cluster.js';
import { describeLogDirsHandler } from './handlers/describe-log-dirs.js';
import { initProducerIdHandler } from './handlers/init-producer-id.js';
import { offsetForLeaderEpochHandler } from './handlers/offset-for-leader-epoch.js';
import { electLeadersHandler } from './handlers/elect-leaders.js';
import {
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
} from './handlers/partition-reassignments.js';
import { AutoTopicCreationManager } from './auto-topic-creation.js';
import { GROUP_METADATA_TOPIC } from './group/group-metadata-manager.js';
import { TRANSACTION_STATE_TOPIC } from './txn/transaction-log.js';
import { createGroupService, groupHandlers, type GroupService } from './group/group-service.js';
import { BrokerSecurity, type ScramBootstrapUser } from './security/broker-security.js';
import { StandardAuthorizer, authorizerConfigFrom } from './security/authorizer.js';
import { AuthHelper } from './security/authorizer-helper.js';
import { createAclsHandler } from './handlers/create-acls.js';
import { describeAclsHandler } from './handlers/describe-acls.js';
import { deleteAclsHandler } from './handlers/delete-acls.js';
import { AclTable } from '../controller/acl-table.js';
import { AclFrontend } from '../controller/acl-frontend.js';
import { LocalScramAdmin, type ScramAdmin } from '../controller/scram-admin.js';
import { ScramCredentialFrontend } from '../controller/scram-frontend.js';
import { LocalAclAdmin, type AclAdmin } from '../controller/acl-admin.js';
import { createTransactionService, transactionHandlers, type TransactionService } from './txn/txn-service.js';

/**
 * Where the broker serves Kafka clients comes from its config (`listeners`, `advertised.listeners`,
 * `listener.security.protocol.map`, `inter.broker.listener.name`), not from these options.
 */
export interface ServerOptions {
  metricsListen?: { host: string; port: number };
  /**
   * gRPC control plane listener (cluster mode); default: the inter-broker listener's host, a free
   * port. Other brokers reach it on the inter-broker listener's advertised host.
   */
  controlListen?: { host: string; port: number };
  etcd?: string;
  clusterId?: string;
  /** SCRAM users to create when absent (`--add-scram`, as `kafka-storage format --add-scram`). */
  addScram?: ScramBootstrapUser[];
}

export const METADATA_ROOT = '/sluice';

export class KafkaServer {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly #opts: ServerOptions;
  readonly #log: Logger;
  #store: MetadataStore | null = null;
  #table: MetadataTable | null = null;
  #clientQuotaTable: ClientQuotaTable | null = null;
  #features: FeaturesTable | null = null;
  #replicaManager: ReplicaManager | null = null;
  #groups: GroupService | null = null;
  #txn: TransactionService | null = null;
  readonly #listeners: ListenerConfig;
  /** listener name → its socket server, in the order of `listeners`. */
  readonly #socketServers = new Map<string, SocketServer>();
  #http: HttpServer | null = null;
  #ready = false;
  #metricsPort = 0;
  #root = METADATA_ROOT;
  #session: BrokerSession | null = null;
  #controller: Controller | null = null;
  #controlServer: ControlPlaneServer | null = null;
  #controlClient: ControlPlaneClient | null = null;
  #registration: BrokerRegistration | null = null;
  #security: BrokerSecurity | null = null;
  #aclTable: AclTable | null = null;

  constructor(config: BrokerConfig, opts: ServerOptions) {
    this.config = config;
    this.nodeId = config.nodeId;
    this.#opts = opts;
    this.#log = logger('broker', { nodeId: this.nodeId });
    // Validated here too (the CLI checks first, for a clean exit code): a bad listener setup must
    // fail before anything is bound or registered.
    this.#listeners = config.listeners;
  }

  /** The port bound by the first listener (0 before startup). */
  get port(): number {
    return this.listenerPort(this.#listeners.listeners[0]!.name);
  }

  /** The port bound by a named listener, 0 when there is none or before startup. */
  listenerPort(name: string): number {
    return this.#socketServers.get(name.toUpperCase())?.port ?? 0;
  }

  get metricsPort(): number {
    return this.#metricsPort;
  }

  async startup(): Promise<void> {
    const dataDir = this.config.logDirs[0]!;
    mkdirSync(dataDir, { recursive: true });
    // Cluster mode keeps each cluster's metadata under its own prefix in etcd, so one etcd can serve
    // several clusters; the embedded store holds one cluster in the first log dir.
    const cluster = this.#opts.etcd !== undefined;
    if (cluster)
      this.#root = `${METADATA_ROOT}/${this.#opts.clusterId ?? this.config.str('cluster.id') ?? 'default'}`;
    const store: MetadataStore = cluster
      ? new (await import('../controller/etcd-store.js')).EtcdMetadataStore(
          this.#opts
            .etcd!.split(',')
            .map((u) => u.trim())
            .filter(Boolean),
        )
      : new EmbeddedMetadataStore(join(dataDir, '__metadata.json'));
    this.#store = store;
    const table = new MetadataTable(store, this.#root);
    this.#table = table;
    await table.start();

    // The embedded cluster's id is made once and kept in the store.
    const clusterKey = table.keys.cluster;
    if (!table.clusterId) {
      const id =
        this.#opts.clusterId ?? this.config.str('cluster.id') ?? randomUUID().replace(/-/g, '').slice(0, 22);
      const r = await store.txn(
        [{ key: clusterKey, target: 'exists', value: false }],
        [{ type: 'put', key: clusterKey, value: JSON.stringify({ clusterId: id }) }],
      );
      await table.waitForRevision(r.revision);
    }
    // The finalized features (kafka-features.sh): written once per cluster, then read by every broker.
    const features = (this.#features = new FeaturesTable(store, this.#root));
    await features.start();
    await features.bootstrap();
    // Client quotas (user / client-id entities): every broker enforces what the watch brings.
    const clientQuotaTable = (this.#clientQuotaTable = new ClientQuotaTable(store, this.#root));
    await clientQuotaTable.start();

    // The registration (and, in cluster mode, its lease) is written once the listeners are bound.
    const session = new BrokerSession({
      store,
      table,
      ttlSeconds: cluster
        ? Math.max(1, Math.ceil(this.config.int('broker.session.timeout.ms') / 1000))
        : null,
      interBrokerListener: this.#listeners.interBrokerListenerName,
      log: this.#log,
    });
    this.#session = session;
    const registry = createRegistry({ labels: { node_id: String(this.nodeId) } });
    // Listener TLS/SASL settings, SCRAM credentials, inter-broker client security (src/broker/security).
    const security = new BrokerSecurity({
      config: this.config,
      listeners: this.#listeners,
      store,
      root: this.#root,
      registry,
      log: this.#log,
      ...(this.#opts.addScram ? { addScram: this.#opts.addScram } : {}),
    });
    this.#security = security;
    // Cluster mode: the client of the active controller's control plane (found through the table),
    // authenticated as the inter-broker listener's security says (the server side uses the same).
    // Admin writes, ISR changes, elections and reassignments go to the controller through it.
    const controlAuth = cluster ? await security.controlPlaneAuth() : null;
    const controlClient = controlAuth
      ? new (await import('../controller/grpc/control-plane-client.js')).ControlPlaneClient(
          table,
          this.#listeners.interBrokerListenerName,
          controlAuth,
        )
      : null;
    this.#controlClient = controlClient;
    // ACLs (every broker's view of the stored set) and the authorizer over them: on when
    // authorizer.class.name names it, else every check allows (src/broker/security/authorizer.ts).
    const aclTable = new AclTable(store, this.#root);
    this.#aclTable = aclTable;
    await aclTable.start();
    const authorizerConfig = authorizerConfigFrom(this.config);
    const auth = new AuthHelper(
      authorizerConfig
        ? new StandardAuthorizer({ config: authorizerConfig, acls: aclTable, log: this.#log, registry })
        : null,
    );
    const admin = await this.#adminWrites(store, table, clientQuotaTable, controlClient, aclTable, security);

    const socketServers = this.#socketServers;
    // Gauges read the parts built below at scrape time (never before startup ends).
    const metrics: BrokerMetrics = new BrokerMetrics(registry, {
      partitions: () => replicaManager.allPartitions().length,
      logSizes: () =>
        replicaManager.allPartitions().map((p) => ({
          topic: p.topic,
          partition: p.index,
          bytes: p.sizeInBytes,
          segments: p.numberOfSegments,
        })),
      purgatorySizes: () => ({
        Produce: replicaManager.producePurgatory.size,
        Fetch: replicaManager.fetchPurgatory.size,
      }),
      connections: () => [...socketServers].map(([listener, s]) => ({ listener, count: s.connectionCount })),
    });
    // Replication throttles (KIP-73): rates from the broker configs, throttled replicas from the topic configs.
    const replicationQuotaMetricSet = replicationQuotaMetrics(registry, () => [
      replicationQuotas.leader,
      replicationQuotas.follower,
    ]);
    const replicationQuota = (type: ReplicationType) =>
      new ReplicationQuotaManager({
        type,
        brokerId: this.nodeId,
        config: this.config,
        topicConfigs: (topic) => table.topics.get(topic)?.configs,
        windowSamples: this.config.int('replication.quota.window.num'),
        windowSeconds: this.config.int('replication.quota.window.size.seconds'),
        metrics: replicationQuotaMetricSet,
      });
    const replicationQuotas = {
      leader: replicationQuota('LeaderReplication'),
      follower: replicationQuota('FollowerReplication'),
    };
    const replicaManager = new ReplicaManager({
      nodeId: this.nodeId,
      config: this.config,
      table,
      log: this.#log,
      // Leaders send ISR changes (shrink on lag, expand on catch-up) to the active controller.
      alterPartition: controlClient
        ? async (req) => {
            const r = await controlClient.call('alterPartition', req, 5000);
            return { error: r.error, message: r.message, ...(r.state ? { state: r.state } : {}) };
          }
        : null,
      metrics: metrics.replicaMetrics(),
      clientSecurity: security.interBrokerClient,
      replicationQuotas,
    });
    this.#replicaManager = replicaManager;
    // max.connections (broker and per listener), per IP, creation rates: one set of counts for every
    // listener, read from the config at each connection (dynamic updates apply).
    const connectionQuotas = new ConnectionQuotas({
      config: this.config,
      listeners: this.#listeners.listeners.map((l) => l.name),
      interBrokerListener: this.#listeners.interBrokerListenerName,
      windowSamples: this.config.int('quota.window.num'),
      windowSeconds: this.config.int('quota.window.size.seconds'),
      log: this.#log,
      registry,
      // KIP-612's per-IP level: the ip entity's connection_creation_rate, else the default IP's.
      ipConnectionRate: (ip) =>
        clientQuotaTable.get({ ip }).connection_creation_rate ??
        clientQuotaTable.get({ ip: null }).connection_creation_rate ??
        null,
    });
    for (const l of this.#listeners.listeners) {
      socketServers.set(
        l.name,
        new SocketServer(
          {
            listenerName: l.name,
            // An empty host binds every interface, as in Kafka.
            host: l.host === '' ? undefined : l.host,
            port: l.port,
            quotas: connectionQuotas,
            acceptBacklog: this.config.int('socket.listen.backlog.size'),
            maxFrameSize: this.config.int('socket.request.max.bytes'),
            idleTimeoutMs: this.config.int('connections.max.idle.ms'),
            maxQueuedFrames: 8,
            security: security.listener(l.name),
          },
          (frame, conn): Promise<Buffer | null> => apis.handle(frame, conn),
          this.#log.child({ component: 'network', listener: l.name }),
        ),
      );
    }
    metrics.registerReplicationGauges({
      underReplicated: () =>
        replicaManager.allPartitions().filter((p) => p.isLeader && p.isr.length < p.replicas.length).length,
      offline: () => (this.#controller?.isActive ? this.#controller.health().offline : 0),
      activeController: () => (cluster ? (this.#controller?.isActive ? 1 : 0) : 1),
      leaderElections: () => this.#controller?.leaderElections ?? 0,
      uncleanElections: () => this.#controller?.uncleanElections ?? 0,
      fetcherLag: () => replicaManager.fetcherManager.lags(),
    });
    metrics.registerCleanerGauges(replicaManager.logManager.cleaner);

    const topics = admin.topics;
    const groups = createGroupService({
      nodeId: this.nodeId,
      config: this.config,
      table,
      topics,
      replicaManager,
      metrics,
      log: this.#log,
    });
    this.#groups = groups;
    const producerIds = new ProducerIdManager(store, this.#root);
    const txn = createTransactionService({
      nodeId: this.nodeId,
      config: this.config,
      table,
      topics,
      replicaManager,
      features,
      producerIds,
      metrics,
      log: this.#log,
    });
    this.#txn = txn;
    const services: BrokerServices = {
      nodeId: this.nodeId,
      config: this.config,
      table,
      topics,
      brokerConfigs: admin.brokerConfigs,
      replicaManager,
      producerIds,
      metrics,
      groupCoordinator: groups.coordinator,
      groupMetadataManager: groups.manager,
      txnCoordinator: txn.coordinator,
      txnVerifier: txn.verifier,
      log: this.#log,
      auth,
      aclAdmin: authorizerConfig ? admin.acls : null,
      controllerId: () => (cluster ? (table.controller?.nodeId ?? -1) : this.nodeId),
      autoTopicCreation: new AutoTopicCreationManager({
        log: this.#log,
        create: async (name) => {
          // Internal topics get their owners' partition counts and configs, as Kafka's do.
          if (name === GROUP_METADATA_TOPIC) return groups.manager.ensureTopic();
          if (name === TRANSACTION_STATE_TOPIC) return txn.coordinator.stateManager.ensureTopic();
          await topics.create(
            { name, numPartitions: -1, replicationFactor: -1 },
            {
              numPartitions: this.config.int('num.partitions'),
              replicationFactor: Math.min(this.config.int('default.replication.factor'), table.brokers.size),
            },
          );
        },
      }),
    };
    const clientQuotas = new ClientQuotas(
      clientQuotaTable,
      {
        samples: this.config.int('quota.window.num'),
        windowMs: this.config.int('quota.window.size.seconds') * 1000,
      },
      {
        samples: this.config.int('controller.quota.window.num'),
        windowMs: this.config.int('controller.quota.window.size.seconds') * 1000,
      },
    );
    clientQuotas.registerMetrics(registry);
    const apis: KafkaApis = new KafkaApis(metrics, clientQuotas);
    for (const h of [
      apiVersionsHandler(() => apis.handlers(), features),
      updateFeaturesHandler(this.nodeId, features, auth),
      metadataHandler(services),
      produceHandler(services),
      fetchHandler(services),
      listOffsetsHandler(services),
      createTopicsHandler(services),
      deleteTopicsHandler(services),
      createPartitionsHandler(services),
      describeConfigsHandler(services),
      alterConfigsHandler(services),
      incrementalAlterConfigsHandler(services),
      deleteRecordsHandler(services),
      describeClusterHandler(services),
      describeLogDirsHandler(services),
      initProducerIdHandler(services),
      offsetForLeaderEpochHandler(services),
      // Answered by the active controller (cluster mode; null on a single node).
      electLeadersHandler(services, () => controlClient),
      alterPartitionReassignmentsHandler(services, () => controlClient),
      listPartitionReassignmentsHandler(services, () => controlClient),
      ...groupHandlers(services),
      ...security.handlers(auth, admin.scram),
      createAclsHandler(services),
      describeAclsHandler(services),
      deleteAclsHandler(services),
      describeClientQuotasHandler(clientQuotaTable, auth),
      alterClientQuotasHandler(admin.clientQuotas, auth),
      ...transactionHandlers(services),
    ]) {
      apis.register(h);
    }

    // Dynamic broker configs follow the table.
    const applyDynamic = () => {
      try {
        const ignored = this.config.setDynamic(
          table.brokerConfigs.get(this.nodeId) ?? {},
          table.brokerConfigs.get('default') ?? {},
        );
        if (ignored.length > 0)
          this.#log.warn({ keys: ignored }, 'ignoring stored dynamic configs Kafka does not allow');
      } catch (err) {
        this.#log.error({ err }, 'ignoring invalid dynamic broker config');
      }
    };
    applyDynamic();
    table.on('brokerConfig', () => {
      applyDynamic();
      connectionQuotas.configChanged();
      security.reloadTls();
    });

    await security.start();
    replicaManager.start();
    await groups.start();
    await txn.start();
    for (const s of socketServers.values()) await s.start();
    const interBroker = this.#listeners.listeners.find(
      (l) => l.name === this.#listeners.interBrokerListenerName,
    )!;

    let controlPort = 0;
    if (controlClient && controlAuth) {
      const { Controller } = await import('../controller/controller.js');
      const { ControlPlaneServer } = await import('../controller/grpc/control-plane-server.js');
      // Campaigns from start() below, once registered, under the session's lease.
      const controller = new Controller({
        nodeId: this.nodeId,
        store,
        table,
        session,
        config: this.config,
        log: this.#log,
        scramCredentials: security.scramTable,
      });
      this.#controller = controller;
      this.#controlServer = new ControlPlaneServer(
        controller,
        () => table.controller?.nodeId ?? -1,
        this.#log,
        controlAuth,
      );
      const cl = this.#opts.controlListen ?? { host: interBroker.host || '0.0.0.0', port: 0 };
      controlPort = await this.#controlServer.start(cl.host, cl.port);
    }

    // Register after the listeners are bound, so advertised port 0 becomes the real port.
    this.#registration = {
      nodeId: this.nodeId,
      endpoints: this.#listeners.listeners.map((l) => ({
        name: l.name,
        host: l.advertisedHost,
        port: l.advertisedPort === 0 ? socketServers.get(l.name)!.port : l.advertisedPort,
        securityProtocol: l.securityProtocol,
      })),
      rack: this.config.str('broker.rack'),
      incarnationId: randomUUID(),
      controlPort,
    };
    await session.register(this.#registration);
    this.#controller?.start();

    if (this.#opts.metricsListen) await this.#startHttp(this.#opts.metricsListen, registry);
    this.#ready = true;
    this.#log.info(
      {
        port: this.port,
        listeners: Object.fromEntries([...socketServers].map(([name, s]) => [name, s.port])),
        advertised: this.#registration.endpoints.map((e) => `${e.name}://${e.host}:${e.port}`),
        interBrokerListener: this.#listeners.interBrokerListenerName,
        metricsPort: this.#metricsPort,
        clusterId: table.clusterId,
        logDirs: this.config.logDirs,
      },
      'broker started',
    );
  }

  /**
   * The admin writes the handlers use (admin-writes.ts). Cluster mode: forwarded to the active
   * controller, which writes them fenced by its epoch. Single node: this broker is its own
   * controller and writes them itself, fenced by the controller key it claims here.
   */
  async #adminWrites(
    store: MetadataStore,
    table: MetadataTable,
    clientQuotaTable: ClientQuotaTable,
    controlClient: ControlPlaneClient | null,
    aclTable: AclTable,
    security: BrokerSecurity,
  ): Promise<{
    topics: TopicAdmin;
    brokerConfigs: BrokerConfigAdmin;
    acls: AclAdmin;
    clientQuotas: ClientQuotaAdmin;
    scram: ScramAdmin;
  }> {
    if (controlClient) {
      const {
        ForwardingTopicAdmin,
        ForwardingConfigAdmin,
        ForwardingAclAdmin,
        ForwardingClientQuotaAdmin,
        ForwardingScramAdmin,
      } = await import('../controller/grpc/forwarding-admin.js');
      return {
        topics: new ForwardingTopicAdmin(controlClient, table),
        brokerConfigs: new ForwardingConfigAdmin(controlClient, table),
        acls: new ForwardingAclAdmin(controlClient, table, aclTable),
        clientQuotas: new ForwardingClientQuotaAdmin(controlClient, clientQuotaTable),
        scram: new ForwardingScramAdmin(controlClient, security.scramTable),
      };
    }
    const fence = await claimSingleNodeController(store, table, this.nodeId);
    return {
      topics: new LocalTopicAdmin(new TopicFrontend(store, table, fence)),
      brokerConfigs: new LocalConfigAdmin(new ConfigFrontend(store, table, fence)),
      acls: new LocalAclAdmin(new AclFrontend(store, this.#root, fence), aclTable),
      clientQuotas: new LocalClientQuotaAdmin(
        new ClientQuotaFrontend(store, table.keys.root, fence),
        clientQuotaTable,
      ),
      scram: new LocalScramAdmin(
        new ScramCredentialFrontend(store, security.scramTable, table.keys.root, fence),
        security.scramTable,
      ),
    };
  }

  /**
   * Controlled shutdown (cluster mode): ask the controller to move this broker's leaderships to other
   * in-sync replicas before the listener closes, so producers see at most retriable errors. One answer
   * from the controller settles it; a failed call is tried again, up to
   * controlled.shutdown.max.retries tries, like Kafka, then the broker shuts down anyway.
   */
  async #controlledShutdown(): Promise<void> {
    const client = this.#controlClient;
    if (!client) return;
    const retries = this.config.int('controlled.shutdown.max.retries');
    for (let attempt = 1; attempt <= retries; attempt++) {
      try {
        const res = await client.call('controlledShutdown', { brokerId: this.nodeId }, 10_000);
        if (res.error === 'NONE') {
          // The controller moved every leadership it could. The rest ('remaining') have no other
          // in-sync replica to take over, and retrying would not give them one (their followers are
          // stopping too, or behind): as Kafka's controller, which lets such a broker go at once
          // (its partitions are offline until it is back), this broker stops now.
          const remaining = new Set(res.remainingPartitions);
          // Wait until this broker's own view shows it leads nothing that moved, so no request lands
          // here after.
          const deadline = Date.now() + 5000;
          while (
            Date.now() < deadline &&
            this.#replicaManager
              ?.allPartitions()
              .some((p) => p.isLeader && p.isr.length > 1 && !remaining.has(p.key))
          ) {
            await new Promise((r) => setTimeout(r, 50));
          }
          if (remaining.size === 0) this.#log.info({ attempt }, 'controlled shutdown complete');
          else
            this.#log.info(
              { attempt, remaining: res.remainingPartitions },
              'controlled shutdown complete; partitions with no other in-sync replica are offline until this broker is back',
            );
          return;
        }
        this.#log.info({ attempt, error: res.error }, 'controlled shutdown refused by the controller');
      } catch (err) {
        this.#log.warn({ err, attempt }, 'controlled shutdown request failed');
      }
      await new Promise((r) => setTimeout(r, this.config.int('controlled.shutdown.retry.backoff.ms')));
    }
    this.#log.warn('controlled shutdown did not complete; shutting down anyway');
  }

  async #startHttp(
    listen: { host: string; port: number },
    registry: ReturnType<typeof createRegistry>,
  ): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(body);
          },
          (err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
      } else if (path === '/ready' || path === '/healthz') {
        res.writeHead(this.#ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(this.#ready ? 'ready\n' : 'starting\n');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    this.#http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        const a = server.address();
        this.#metricsPort = typeof a === 'object' && a ? a.port : listen.port;
        resolve();
      });
    });
  }

  async shutdown(): Promise<void> {
    if (this.#opts.etcd !== undefined && this.#ready) await this.#controlledShutdown();
    this.#ready = false;
    this.#log.info('stopping the listeners and finishing in-flight requests');
    // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) so the drain below ends.
    this.#groups?.shutdown();
    this.#txn?.shutdown();
    await Promise.all([...this.#socketServers.values()].map((s) => s.stop()));
    // Fetchers stopped and awaited, waiting operations answered, producer state snapshotted, logs
    // flushed and closed: all before the metadata store goes.
    await this.#replicaManager?.shutdown();
    this.#controller?.stop();
    await this.#controlServer?.stop();
    this.#controlClient?.close();
    await this.#security?.stop();
    if (this.#table && this.#store) {
      // A single node keeps its registration (it is the cluster). In cluster mode revoking the lease
      // removes the registration (and the controller key, if held) at once instead of after the TTL.
      await this.#session?.close();
      await this.#features?.stop();
      await this.#aclTable?.stop();
      await this.#clientQuotaTable?.stop();
      await this.#table.stop();
      await this.#store.close();
    }
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#log.info('broker stopped cleanly');
  }
}
