/**
 * The broker's parts that API handlers use, gathered in one object the KafkaServer builds. Handlers
 * get this rather than the server itself so each handler's dependencies stay visible and testable.
 */
import type { AutoTopicCreationManager } from './auto-topic-creation.js';
import type { BrokerConfig } from '../common/broker-config.js';
import type { Logger } from '../common/logger.js';
import type { MetadataTable } from '../controller/metadata-table.js';
import type { BrokerConfigAdmin, TopicAdmin } from '../controller/admin-writes.js';
import type { ReplicaManager } from './replica-manager.js';
import type { ProducerIdManager } from './producer-id-manager.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { GroupCoordinator } from './group/group-coordinator.js';
import type { GroupMetadataManager } from './group/group-metadata-manager.js';
import type { TransactionCoordinator } from './txn/transaction-coordinator.js';
import type { ProduceVerifier } from './txn/produce-verification.js';
import type { AuthHelper } from './security/authorizer-helper.js';
import type { AclAdmin } from '../controller/acl-admin.js';

export interface BrokerServices {
  readonly nodeId: number;
  readonly config: BrokerConfig;
  readonly table: MetadataTable;
  /**
   * Admin writes: written by this broker on a single node (it is the controller), forwarded to the
   * active controller in cluster mode. See admin-writes.ts.
   */
  readonly topics: TopicAdmin;
  readonly brokerConfigs: BrokerConfigAdmin;
  readonly replicaManager: ReplicaManager;
  readonly producerIds: ProducerIdManager;
  readonly metrics: BrokerMetrics;
  readonly groupCoordinator: GroupCoordinator;
  readonly groupMetadataManager: GroupMetadataManager;
  /** The transaction coordinator (src/broker/txn): its state manager owns __transaction_state. */
  readonly txnCoordinator: TransactionCoordinator;
  /** KIP-890 verification of transactional produce against the coordinator. */
  readonly txnVerifier: ProduceVerifier;
  readonly log: Logger;
  /**
   * Authorization (Kafka's AuthHelper): `auth.authorize(ctx, 'WRITE', 'TOPIC', name)`,
   * `auth.filterAuthorized(…)`, `auth.authorizeCluster(ctx, 'ALTER')`, KIP-430's
   * `auth.authorizedOperations(…)`. Everything is allowed while no authorizer is configured.
   * docs/security.md lists what each API checks.
   */
  readonly auth: AuthHelper;
  /** CreateAcls/DeleteAcls writes (acl-admin.ts); null when no authorizer is configured. */
  readonly aclAdmin: AclAdmin | null;
  /** The active controller's node id (-1 when none is known). */
  controllerId(): number;
  /** Starts creating unknown topics named by Metadata (auto.create.topics.enable path). */
  readonly autoTopicCreation: AutoTopicCreationManager;
}
