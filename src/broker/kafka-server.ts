/**
 * KafkaServer: one broker's lifecycle (Kafka's KafkaServer/BrokerServer). Startup order:
 *   metadata store → metadata table → register this broker → logs (ReplicaManager) → handlers →
 *   client listener → metrics/ready HTTP.
 * Shutdown reverses it: stop accepting and finish in-flight requests, answer waiting operations,
 * flush and close logs (writing the clean-shutdown marker), close the store.
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
import type { MetadataStore } from '../controller/metadata-store.js';
import { MetadataTable } from '../controller/metadata-table.js';
import { TopicFrontend } from '../controller/topic-frontend.js';
import { ConfigFrontend } from '../controller/config-frontend.js';
import type { BrokerRegistration } from '../controller/records.js';
import { KafkaApis } from './kafka-apis.js';
import { SocketServer } from './network/socket-server.js';
import { ReplicaManager } from './replica-manager.js';
import { ProducerIdManager } from './producer-id-manager.js';
import { BrokerMetrics } from './broker-metrics.js';
import type { BrokerServices } from './broker-services.js';
import { apiVersionsHandler } from './handlers/api-versions.js';
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
import { createGroupService, groupHandlers, type GroupService } from './group/group-service.js';

export interface ServerOptions {
  listen: { host: string; port: number };
  advertise?: { host: string; port: number };
  metricsListen?: { host: string; port: number };
  etcd?: string;
  clusterId?: string;
}

export const METADATA_ROOT = '/sluice';

export class KafkaServer {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly #opts: ServerOptions;
  readonly #log: Logger;
  #store: MetadataStore | null = null;
  #table: MetadataTable | null = null;
  #replicaManager: ReplicaManager | null = null;
  #groups: GroupService | null = null;
  #socketServer: SocketServer | null = null;
  #http: HttpServer | null = null;
  #ready = false;
  #metricsPort = 0;

  constructor(config: BrokerConfig, opts: ServerOptions) {
    this.config = config;
    this.nodeId = config.nodeId;
    this.#opts = opts;
    this.#log = logger('broker', { nodeId: this.nodeId });
  }

  get port(): number {
    return this.#socketServer?.port ?? 0;
  }

  get metricsPort(): number {
    return this.#metricsPort;
  }

  async startup(): Promise<void> {
    if (this.#opts.etcd) throw new Error('cluster mode (--etcd) is not available yet; run without --etcd for a single broker');
    const dataDir = this.config.logDirs[0]!;
    mkdirSync(dataDir, { recursive: true });
    const store = new EmbeddedMetadataStore(join(dataDir, '__metadata.json'));
    this.#store = store;
    const table = new MetadataTable(store, METADATA_ROOT);
    this.#table = table;
    await table.start();

    // The embedded cluster's id is made once and kept in the store.
    const clusterKey = table.keys.cluster;
    if (!table.clusterId) {
      const id = this.#opts.clusterId ?? randomUUID().replace(/-/g, '').slice(0, 22);
      const r = await store.txn([{ key: clusterKey, target: 'exists', value: false }], [{ type: 'put', key: clusterKey, value: JSON.stringify({ clusterId: id }) }]);
      await table.waitForRevision(r.revision);
    }

    const registry = createRegistry({ labels: { node_id: String(this.nodeId) } });
    const replicaManager = new ReplicaManager(this.nodeId, this.config, table, this.#log);
    this.#replicaManager = replicaManager;
    const socketServer: SocketServer = new SocketServer(
      {
        host: this.#opts.listen.host,
        port: this.#opts.listen.port,
        maxConnections: this.config.int('max.connections'),
        maxFrameSize: this.config.int('socket.request.max.bytes'),
        idleTimeoutMs: this.config.int('connections.max.idle.ms'),
        maxQueuedFrames: 8,
      },
      (frame, conn): Promise<Buffer | null> => apis.handle(frame, conn),
      this.#log.child({ component: 'network' }),
    );
    this.#socketServer = socketServer;
    const metrics: BrokerMetrics = new BrokerMetrics(registry, {
      partitions: () => replicaManager.allPartitions().length,
      logSizes: () => replicaManager.allPartitions().map((p) => ({ topic: p.topic, partition: p.index, bytes: p.log.size, segments: p.log.numberOfSegments })),
      purgatorySizes: () => ({ Produce: replicaManager.producePurgatory.size, Fetch: replicaManager.fetchPurgatory.size }),
      connections: (): number => socketServer.connectionCount,
    });
    replicaManager.onBytesIn = (topic, bytes, records) => {
      metrics.bytesIn.inc({ topic }, bytes);
      metrics.messagesIn.inc({ topic }, records);
    };
    replicaManager.onBytesOut = (topic, bytes) => metrics.bytesOut.inc({ topic }, bytes);
    replicaManager.onDuplicate = (topic) => metrics.producerDuplicates.inc({ topic });

    const topics = new TopicFrontend(store, table);
    const groups = createGroupService({ nodeId: this.nodeId, config: this.config, table, topics, replicaManager, metrics, log: this.#log });
    this.#groups = groups;
    const services: BrokerServices = {
      nodeId: this.nodeId,
      config: this.config,
      table,
      topics,
      brokerConfigs: new ConfigFrontend(store, table),
      replicaManager,
      producerIds: new ProducerIdManager(store, METADATA_ROOT),
      metrics,
      groupCoordinator: groups.coordinator,
      groupMetadataManager: groups.manager,
      log: this.#log,
      controllerId: () => this.nodeId,
      autoCreateTopic: async (name) => {
        await topics.create(
          { name, numPartitions: -1, replicationFactor: -1 },
          { numPartitions: this.config.int('num.partitions'), replicationFactor: Math.min(this.config.int('default.replication.factor'), table.brokers.size) },
        );
      },
    };
    const apis: KafkaApis = new KafkaApis(this.#log.child({ component: 'kafka-apis' }), metrics);
    for (const h of [
      apiVersionsHandler(() => apis.handlers()),
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
      ...groupHandlers(services),
    ]) {
      apis.register(h);
    }

    // Dynamic broker configs follow the table.
    const applyDynamic = () => {
      try {
        this.config.setDynamic(table.brokerConfigs.get(this.nodeId) ?? {}, table.brokerConfigs.get('default') ?? {});
      } catch (err) {
        this.#log.error({ err }, 'ignoring invalid dynamic broker config');
      }
    };
    applyDynamic();
    table.on('brokerConfig', applyDynamic);

    replicaManager.start();
    await groups.start();
    await socketServer.start();

    // Register after the listener is bound, so the advertised port is the real one.
    const adv = this.#opts.advertise ?? { host: this.#opts.listen.host, port: socketServer.port };
    const registration: BrokerRegistration = {
      nodeId: this.nodeId,
      host: adv.host === '0.0.0.0' || adv.host === '::' ? '127.0.0.1' : adv.host,
      port: adv.port === 0 ? socketServer.port : adv.port,
      rack: this.config.str('broker.rack'),
      incarnationId: randomUUID(),
    };
    const r = await store.txn([], [{ type: 'put', key: table.keys.broker(this.nodeId), value: JSON.stringify(registration) }]);
    await table.waitForRevision(r.revision);

    if (this.#opts.metricsListen) await this.#startHttp(this.#opts.metricsListen, registry);
    this.#ready = true;
    this.#log.info(
      { port: socketServer.port, metricsPort: this.#metricsPort, clusterId: table.clusterId, logDirs: this.config.logDirs },
      'broker started',
    );
  }

  async #startHttp(listen: { host: string; port: number }, registry: ReturnType<typeof createRegistry>): Promise<void> {
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
    this.#ready = false;
    this.#log.info('stopping the client listener and finishing in-flight requests');
    // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) so the drain below ends.
    this.#groups?.shutdown();
    await this.#socketServer?.stop();
    this.#replicaManager?.shutdown();
    if (this.#table && this.#store) {
      // A single node keeps its registration (it is the cluster); cluster mode relies on the lease.
      await this.#table.stop();
      await this.#store.close();
    }
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#log.info('broker stopped cleanly');
  }
}
