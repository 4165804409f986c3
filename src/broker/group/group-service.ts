/**
 * Builds the group coordinator for a broker and keeps it following leadership of __consumer_offsets:
 * a partition this broker starts leading is loaded (groups read back from the log), one it stops
 * leading is unloaded. On a single node every partition is led from startup, so all load at start.
 * Also: the handlers to register, and the metrics sources (groups by state, lag).
 */
import type { BrokerConfig } from '../../common/broker-config.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataTable } from '../../controller/metadata-table.js';
import type { TopicAdmin } from '../../controller/admin-writes.js';
import type { BrokerMetrics } from '../broker-metrics.js';
import type { BrokerServices } from '../broker-services.js';
import type { ReplicaManager } from '../replica-manager.js';
import type { ApiHandler } from '../handlers/api-handler.js';
import { findCoordinatorHandler } from '../handlers/find-coordinator.js';
import { joinGroupHandler } from '../handlers/join-group.js';
import { syncGroupHandler } from '../handlers/sync-group.js';
import { heartbeatHandler } from '../handlers/heartbeat.js';
import { leaveGroupHandler } from '../handlers/leave-group.js';
import { offsetCommitHandler } from '../handlers/offset-commit.js';
import { offsetFetchHandler } from '../handlers/offset-fetch.js';
import { describeGroupsHandler } from '../handlers/describe-groups.js';
import { listGroupsHandler } from '../handlers/list-groups.js';
import { deleteGroupsHandler } from '../handlers/delete-groups.js';
import { offsetDeleteHandler } from '../handlers/offset-delete.js';
import { GroupCoordinator } from './group-coordinator.js';
import { GROUP_METADATA_TOPIC, GroupMetadataManager } from './group-metadata-manager.js';

export interface GroupService {
  coordinator: GroupCoordinator;
  manager: GroupMetadataManager;
  /** Load the partitions led now and follow leadership changes. Call after ReplicaManager.start(). */
  start(): Promise<void>;
  shutdown(): void;
}

export function createGroupService(opts: {
  nodeId: number;
  config: BrokerConfig;
  table: MetadataTable;
  topics: TopicAdmin;
  replicaManager: ReplicaManager;
  metrics: BrokerMetrics;
  log: Logger;
}): GroupService {
  const log = opts.log.child({ component: 'group-coordinator' });
  const manager = new GroupMetadataManager({
    replicaManager: opts.replicaManager,
    table: opts.table,
    topics: opts.topics,
    config: opts.config,
    log,
  });
  const c = opts.config;
  const coordinator = new GroupCoordinator({
    store: manager,
    log,
    config: {
      minSessionTimeoutMs: c.int('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: c.int('group.max.session.timeout.ms'),
      initialRebalanceDelayMs: c.int('group.initial.rebalance.delay.ms'),
      maxSize: c.int('group.max.size'),
      offsetsRetentionMs: c.int('offsets.retention.minutes') * 60_000,
      offsetsRetentionCheckIntervalMs: c.int('offsets.retention.check.interval.ms'),
      offsetMetadataMaxBytes: Number(c.raw('offset.metadata.max.bytes') ?? 4096) || 4096,
    },
    hooks: {
      onRebalance: (group) => opts.metrics.groupRebalances.inc({ group }),
      onOffsetCommit: (group, n) => opts.metrics.offsetCommits.inc({ group }, n),
    },
  });

  opts.metrics.registerGroupGauges({
    groupsByState: () => coordinator.countByState(),
    groupLag: () => {
      const out: { group: string; topic: string; partition: number; lag: number }[] = [];
      for (const g of coordinator.groups.values()) {
        for (const o of g.offsets.values()) {
          const p = opts.replicaManager.getPartition(o.topic, o.partition);
          if (!p?.isLeader) continue;
          const lag = p.highWatermark - o.offset;
          out.push({
            group: g.groupId,
            topic: o.topic,
            partition: o.partition,
            lag: Number(lag > 0n ? lag : 0n),
          });
        }
      }
      return out;
    },
  });

  /** Bring owned partitions in line with what this broker leads now. */
  const sync = async (): Promise<void> => {
    const t = opts.table.topics.get(GROUP_METADATA_TOPIC);
    const n = t?.replicas.length ?? 0;
    for (let i = 0; i < n; i++) {
      const leads = opts.replicaManager.getPartition(GROUP_METADATA_TOPIC, i)?.isLeader === true;
      if (leads && !manager.owned.has(i) && !manager.loading.has(i)) {
        manager.loading.add(i);
        try {
          const groups = await manager.loadPartition(i);
          coordinator.onGroupsLoaded(groups);
          manager.owned.add(i);
        } catch (err) {
          log.error({ err, partition: i }, `loading ${GROUP_METADATA_TOPIC} partition failed`);
        } finally {
          manager.loading.delete(i);
        }
      } else if (!leads && manager.owned.has(i)) {
        manager.owned.delete(i);
        coordinator.onPartitionUnloaded(i);
        log.info({ partition: i }, `no longer leading ${GROUP_METADATA_TOPIC} partition; groups unloaded`);
      }
    }
  };
  let syncing: Promise<void> = Promise.resolve();
  const resync = () => {
    syncing = syncing.then(sync, sync);
  };

  manager.settled = () => syncing;

  return {
    coordinator,
    manager,
    async start() {
      coordinator.startup();
      opts.table.on('partition', (topic) => {
        if (topic === GROUP_METADATA_TOPIC) resync();
      });
      opts.table.on('topic', (topic) => {
        if (topic === GROUP_METADATA_TOPIC) resync();
      });
      resync();
      await syncing;
    },
    shutdown() {
      coordinator.shutdown();
    },
  };
}

export function groupHandlers(b: BrokerServices): ApiHandler[] {
  return [
    findCoordinatorHandler(b),
    joinGroupHandler(b),
    syncGroupHandler(b),
    heartbeatHandler(b),
    leaveGroupHandler(b),
    offsetCommitHandler(b),
    offsetFetchHandler(b),
    describeGroupsHandler(b),
    listGroupsHandler(b),
    deleteGroupsHandler(b),
    offsetDeleteHandler(b),
  ] as ApiHandler[];
}
