/**
 * Apache Kafka 4.4.0's own command-line tools against a real Sluice broker, run by the main classes
 * behind kafka-topics.sh, kafka-configs.sh, kafka-consumer-groups.sh, kafka-get-offsets.sh,
 * kafka-delete-records.sh, kafka-log-dirs.sh and kafka-features.sh (test/helpers/kafka-tools.ts).
 * Each describe does what a user does with that tool and asserts the output the user reads.
 * (kafka-dump-log.sh is tested with the storage files, in test/storage.)
 *
 * Where Sluice still answers differently from Kafka 4.4, the test asserts Kafka's answer and is
 * marked `gap(...)` (vitest's it.fails, with the gap named): it turns red the day the gap is closed,
 * and whoever closed it flips it to a plain `it`.
 *
 * Every expectation here was checked against a real Kafka 4.4.0 broker (KRaft, one combined node,
 * node.id=1, on loopback): with KAFKA_REFERENCE_BOOTSTRAP=127.0.0.1:<port> and
 * KAFKA_REFERENCE_LOG_DIR=<its log.dirs> the same file runs against that broker instead, and every
 * test, the gaps included, must pass. Things that only a KRaft Kafka prints are tolerated, not
 * asserted: the min.insync.replicas dynamic default that enabling ELR (KIP-966) writes, and the
 * "Elr:"/"LastKnownElr:" columns (N/A against Sluice, which has no DescribeTopicPartitions API).
 */
import { readdirSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureJavaClient, runJava, type RunResult } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool, type KafkaToolName } from '../helpers/kafka-tools.js';
import { KAFKA_4_4_BROKER_CONFIG_KEYS, KAFKA_4_4_TOPIC_CONFIG_KEYS } from './kafka-4.4-config-keys.js';
import { BROKER_CONFIG } from '../../src/common/broker-config.js';

const REFERENCE = process.env.KAFKA_REFERENCE_BOOTSTRAP;
const REFERENCE_LOG_DIR = process.env.KAFKA_REFERENCE_LOG_DIR;

/**
 * A test of Kafka's behaviour that Sluice does not match yet (`why` names the gap). Expected to
 * fail against Sluice; against the reference Kafka it must pass. KAFKA_TOOLS_GAPS=run runs the gaps
 * as plain tests, to see how Sluice's answer differs.
 */
function gap(name: string, why: string, fn: () => Promise<void>, timeout = 300_000): void {
  (REFERENCE || process.env.KAFKA_TOOLS_GAPS === 'run' ? it : it.fails)(`${name} [gap: ${why}]`, fn, timeout);
}

/** Unique names per run, so a reference run against a long-lived Kafka starts clean too. */
const RUN = Date.now().toString(36).slice(-5);

/** Non-empty lines, trailing blanks trimmed. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
}

/** The rows of a whitespace-aligned table (kafka-consumer-groups), below the header starting with `first`. */
function table(text: string, first = 'GROUP'): string[][] {
  const ls = lines(text);
  const h = ls.findIndex((l) => l.startsWith(first));
  expect(h, `no table header "${first}" in:\n${text}`).toBeGreaterThanOrEqual(0);
  return ls.slice(h + 1).map((l) => l.trim().split(/\s+/));
}

/** `key=value sensitive=… synonyms={…}` lines of kafka-configs' describe output, by key. */
function configLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(text)) {
    const m = /^ {2}([a-z0-9._-]+)=/.exec(l);
    if (m) out.set(m[1]!, l.trim());
  }
  return out;
}

const show = (r: RunResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('Kafka 4.4.0 command-line tools', { timeout: 300_000 }, () => {
  const broker = REFERENCE
    ? undefined
    : new BrokerProcess({
        overrides: {
          'num.partitions': '3',
          'group.initial.rebalance.delay.ms': '0',
          'offsets.topic.num.partitions': '5',
        },
      });
  let bootstrap: string;
  let logDir: string;
  let kafka: Kafka;
  let tmp: string;

  /** Run a tool with --bootstrap-server pointing at the broker under test. */
  const tool = (name: KafkaToolName, args: string[]): Promise<RunResult> =>
    runKafkaTool(name, ['--bootstrap-server', bootstrap, ...args]);

  /** Produce `values` to a partition with the given timestamps (kafkajs, acks=all). */
  async function produce(topic: string, partition: number, n: number, timestamp: (i: number) => number) {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        partition,
        key: `k${i}`,
        value: `${topic}-${partition}-${i}`,
        timestamp: String(timestamp(i)),
      })),
    });
    await producer.disconnect();
  }

  async function createTopic(topic: string, partitions: number) {
    const r = await tool('kafka-topics', ['--create', '--topic', topic, '--partitions', String(partitions)]);
    expect(r.code, show(r)).toBe(0);
  }

  beforeAll(async () => {
    await Promise.all([ensureKafkaTools(), ensureJavaClient('4.4.0')]);
    if (broker) {
      await broker.start();
      bootstrap = broker.bootstrap;
      logDir = broker.dataDir;
    } else {
      bootstrap = REFERENCE!;
      logDir = REFERENCE_LOG_DIR ?? '';
    }
    kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
    tmp = mkdtempSync(join(tmpdir(), 'sluice-kafka-tools-'));
  }, 600_000);

  afterAll(async () => {
    await broker?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('kafka-topics', () => {
    const topic = `tools-topics-${RUN}`;
    const plain = `tools-plain-${RUN}`;

    it('--create with --partitions and --config, then --describe and --list show it', async () => {
      let r = await tool('kafka-topics', [
        '--create',
        '--topic',
        topic,
        '--partitions',
        '3',
        '--replication-factor',
        '1',
        '--config',
        'retention.ms=3600000',
        '--config',
        'cleanup.policy=delete',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`Created topic ${topic}.\n`);
      r = await tool('kafka-topics', ['--create', '--topic', plain, '--partitions', '1']);
      expect(r.stdout).toBe(`Created topic ${plain}.\n`);

      r = await tool('kafka-topics', ['--describe', '--topic', topic]);
      expect(r.code, show(r)).toBe(0);
      const [head, ...parts] = lines(r.stdout).map((l) => l.trim().split('\t'));
      expect(head!.slice(0, 4)).toEqual([
        `Topic: ${topic}`,
        expect.stringMatching(/^TopicId: [A-Za-z0-9_-]{22}$/),
        'PartitionCount: 3',
        'ReplicationFactor: 1',
      ]);
      expect(head![4]!.replace(/^Configs: /, '').split(',')).toEqual(
        expect.arrayContaining(['cleanup.policy=delete', 'retention.ms=3600000']),
      );
      expect(parts.map((p) => p.slice(0, 5))).toEqual(
        [0, 1, 2].map((i) => [`Topic: ${topic}`, `Partition: ${i}`, 'Leader: 1', 'Replicas: 1', 'Isr: 1']),
      );

      r = await tool('kafka-topics', ['--list']);
      expect(lines(r.stdout)).toEqual(expect.arrayContaining([topic, plain]));
      // Only topics with overrides, and only their header line. (KRaft Kafka with ELR also counts
      // the min.insync.replicas dynamic default that ELR writes as an override of every topic.)
      r = await tool('kafka-topics', ['--describe', '--topics-with-overrides']);
      const overrides = new Map(
        lines(r.stdout).map((l) => {
          const m = /^Topic: (\S+)\t.*\tConfigs: (.*)$/.exec(l);
          expect(m, l).not.toBeNull();
          return [m![1]!, m![2]!.split(',').filter((c) => c !== 'min.insync.replicas=1')];
        }),
      );
      expect(overrides.get(topic)).toEqual(
        expect.arrayContaining(['cleanup.policy=delete', 'retention.ms=3600000']),
      );
      expect(overrides.get(plain) ?? []).toEqual([]);
    });

    it('--create refuses an existing topic, a replication factor above the broker count and an unknown config', async () => {
      let r = await tool('kafka-topics', ['--create', '--topic', topic, '--partitions', '2']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`Error while executing topic command : Topic '${topic}' already exists.`);
      expect(r.stderr).toContain('org.apache.kafka.common.errors.TopicExistsException');
      r = await tool('kafka-topics', ['--create', '--topic', topic, '--partitions', '2', '--if-not-exists']);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe('');

      r = await tool('kafka-topics', [
        '--create',
        '--topic',
        `tools-rf3-${RUN}`,
        '--replication-factor',
        '3',
      ]);
      expect(r.code).toBe(1);
      // Kafka 4.4 adds " or some brokers have all their log directories cordoned" (KIP-1066).
      expect(r.stdout).toContain(
        'Error while executing topic command : Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered',
      );
      expect(r.stderr).toContain('org.apache.kafka.common.errors.InvalidReplicationFactorException');

      r = await tool('kafka-topics', [
        '--create',
        '--topic',
        `tools-badcfg-${RUN}`,
        '--config',
        'no.such.config=1',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        'Error while executing topic command : Unknown topic config name: no.such.config',
      );
      expect(r.stderr).toContain('org.apache.kafka.common.errors.InvalidConfigurationException');

      r = await tool('kafka-topics', ['--list']);
      expect(lines(r.stdout)).not.toContain(`tools-rf3-${RUN}`);
      expect(lines(r.stdout)).not.toContain(`tools-badcfg-${RUN}`);
    });

    it('--alter --partitions grows a topic and refuses to shrink it', async () => {
      let r = await tool('kafka-topics', ['--alter', '--topic', topic, '--partitions', '5']);
      expect(r.code, show(r)).toBe(0);
      r = await tool('kafka-topics', ['--describe', '--topic', topic]);
      expect(lines(r.stdout)[0]).toContain('\tPartitionCount: 5\t');
      expect(lines(r.stdout)).toHaveLength(6);
      r = await tool('kafka-topics', ['--alter', '--topic', topic, '--partitions', '3']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `Error while executing topic command : The topic ${topic} currently has 5 partition(s); 3 would not be an increase.`,
      );
      expect(r.stderr).toContain('org.apache.kafka.common.errors.InvalidPartitionsException');
    });

    it('--delete removes the topic; describing or deleting it again says it does not exist', async () => {
      let r = await tool('kafka-topics', ['--delete', '--topic', plain]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe('');
      // Deletion completes asynchronously in Kafka; --list shows it once the controller finished.
      let listed: string[] = [];
      for (let i = 0; i < 30; i++) {
        listed = lines((await tool('kafka-topics', ['--list'])).stdout);
        if (!listed.includes(plain)) break;
        await new Promise((res) => setTimeout(res, 1000));
      }
      expect(listed).toContain(topic);
      expect(listed).not.toContain(plain);
      r = await tool('kafka-topics', ['--describe', '--topic', plain]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `Error while executing topic command : Topic '${plain}' does not exist as expected`,
      );
      r = await tool('kafka-topics', ['--delete', '--topic', plain, '--if-exists']);
      expect(r.code, show(r)).toBe(0);
    });
  });

  describe('kafka-configs', () => {
    const topic = `tools-configs-${RUN}`;
    const plain = `tools-configs-plain-${RUN}`;

    beforeAll(async () => {
      await createTopic(plain, 1);
      const r = await tool('kafka-topics', [
        '--create',
        '--topic',
        topic,
        '--partitions',
        '1',
        '--config',
        'retention.ms=3600000',
        '--config',
        'cleanup.policy=delete',
      ]);
      expect(r.code, show(r)).toBe(0);
    });

    it('topic: --describe shows the dynamic configs; --alter --add-config and --delete-config change them', async () => {
      let r = await tool('kafka-configs', ['--describe', '--entity-type', 'topics', '--entity-name', topic]);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout)[0]).toBe(`Dynamic configs for topic ${topic} are:`);
      let cfg = configLines(r.stdout);
      expect([...cfg.keys()].sort()).toEqual(['cleanup.policy', 'retention.ms']);
      expect(cfg.get('retention.ms')).toBe(
        'retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}',
      );
      expect(cfg.get('cleanup.policy')).toMatch(
        /^cleanup\.policy=delete sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:cleanup\.policy=delete[,}]/,
      );

      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--add-config',
        'retention.ms=7200000,segment.bytes=10485760',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`Completed updating config for topic ${topic}.\n`);
      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--delete-config',
        'cleanup.policy',
      ]);
      expect(r.stdout).toBe(`Completed updating config for topic ${topic}.\n`);
      r = await tool('kafka-configs', ['--describe', '--entity-type', 'topics', '--entity-name', topic]);
      cfg = configLines(r.stdout);
      expect([...cfg.keys()].sort()).toEqual(['retention.ms', 'segment.bytes']);
      expect(cfg.get('retention.ms')).toBe(
        'retention.ms=7200000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=7200000}',
      );
      expect(cfg.get('segment.bytes')).toMatch(
        /^segment\.bytes=10485760 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:/,
      );

      // --all: every key with its effective value; the overrides and the broker defaults.
      r = await tool('kafka-configs', [
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--all',
      ]);
      expect(lines(r.stdout)[0]).toBe(`All configs for topic ${topic} are:`);
      cfg = configLines(r.stdout);
      expect(cfg.get('cleanup.policy')).toMatch(
        /^cleanup\.policy=delete sensitive=false synonyms=\{DEFAULT_CONFIG:/,
      );
      expect(cfg.get('segment.bytes')).toMatch(/^segment\.bytes=10485760 /);
      expect(cfg.get('max.message.bytes')).toBe(
        'max.message.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}',
      );

      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--add-config',
        'no.such.config=1',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(
        'org.apache.kafka.common.errors.InvalidConfigurationException: Unknown topic config name: no.such.config',
      );
    });

    it('topic: --describe lists the broker default among the synonyms of a topic override', async () => {
      let r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--add-config',
        'segment.bytes=10485760',
      ]);
      expect(r.code, show(r)).toBe(0);
      r = await tool('kafka-configs', ['--describe', '--entity-type', 'topics', '--entity-name', topic]);
      expect(configLines(r.stdout).get('segment.bytes')).toBe(
        'segment.bytes=10485760 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=10485760, DEFAULT_CONFIG:log.segment.bytes=1073741824}',
      );
    });

    it("topic: --describe --all lists exactly Kafka 4.4's topic config keys", async () => {
      const r = await tool('kafka-configs', [
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--all',
      ]);
      expect([...configLines(r.stdout).keys()].sort()).toEqual([...KAFKA_4_4_TOPIC_CONFIG_KEYS].sort());
    });

    it('brokers: --entity-default and --entity-name set, describe and delete dynamic broker configs', async () => {
      let r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--add-config',
        'log.retention.ms=123456789',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe('Completed updating default config for brokers in the cluster.\n');
      r = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-default']);
      expect(lines(r.stdout)[0]).toBe('Default configs for brokers in the cluster are:');
      expect(configLines(r.stdout).get('log.retention.ms')).toBe(
        'log.retention.ms=123456789 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=123456789}',
      );
      // A topic without its own retention.ms now has the cluster default.
      r = await tool('kafka-configs', [
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        plain,
        '--all',
      ]);
      expect(configLines(r.stdout).get('retention.ms')).toMatch(
        /^retention\.ms=123456789 sensitive=false synonyms=\{DYNAMIC_DEFAULT_BROKER_CONFIG:log\.retention\.ms=123456789[,}]/,
      );

      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--add-config',
        'log.retention.ms=55555',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe('Completed updating config for broker 1.\n');
      r = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-name', '1']);
      expect(lines(r.stdout)[0]).toBe('Dynamic configs for broker 1 are:');
      expect(configLines(r.stdout).get('log.retention.ms')).toMatch(
        /^log\.retention\.ms=55555 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:log\.retention\.ms=55555[,}]/,
      );
      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--delete-config',
        'log.retention.ms',
      ]);
      expect(r.stdout).toBe('Completed updating config for broker 1.\n');
      r = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-name', '1']);
      expect(configLines(r.stdout).has('log.retention.ms')).toBe(false);
      // The static config as the broker was started, with its source.
      r = await tool('kafka-configs', [
        '--describe',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--all',
      ]);
      expect(lines(r.stdout)[0]).toBe('All configs for broker 1 are:');
      expect(configLines(r.stdout).get('log.dirs')).toMatch(
        /^log\.dirs=\S+ sensitive=false synonyms=\{STATIC_BROKER_CONFIG:log\.dirs=\S+[,}]/,
      );
    });

    it('--entity-default still shows a cluster default that a broker overrides', async () => {
      let r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--add-config',
        'log.retention.ms=123456789',
      ]);
      expect(r.code, show(r)).toBe(0);
      r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--add-config',
        'log.retention.ms=55555',
      ]);
      expect(r.code, show(r)).toBe(0);
      try {
        r = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-default']);
        expect(configLines(r.stdout).get('log.retention.ms')).toBe(
          'log.retention.ms=123456789 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=123456789}',
        );
        // and broker 1 lists the whole chain: its own value, the cluster default, the static default.
        r = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-name', '1']);
        expect(configLines(r.stdout).get('log.retention.ms')).toBe(
          'log.retention.ms=55555 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=55555, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=123456789, DEFAULT_CONFIG:log.retention.hours=168}',
        );
      } finally {
        await tool('kafka-configs', [
          '--alter',
          '--entity-type',
          'brokers',
          '--entity-name',
          '1',
          '--delete-config',
          'log.retention.ms',
        ]);
      }
    });

    it('--entity-default accepts a broker key Kafka 4.4 defines that Sluice has no use for (log.cleaner.threads)', async () => {
      const r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--add-config',
        'log.cleaner.threads=2',
      ]);
      expect(r.stdout + r.stderr).toContain('Completed updating default config for brokers in the cluster.');
      const d = await tool('kafka-configs', ['--describe', '--entity-type', 'brokers', '--entity-default']);
      expect(configLines(d.stdout).get('log.cleaner.threads')).toBe(
        'log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2}',
      );
      await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--delete-config',
        'log.cleaner.threads',
      ]);
    });

    it('a read-only broker key is refused as Kafka refuses it', async () => {
      const r = await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--add-config',
        'log.dirs=/elsewhere',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(
        'org.apache.kafka.common.errors.InvalidRequestException: Cannot update these configs dynamically: [log.dirs]',
      );
    });

    it("brokers: --describe --all lists exactly Kafka 4.4's broker config keys", async () => {
      const r = await tool('kafka-configs', [
        '--describe',
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--all',
      ]);
      // Kafka 4.4's keys, plus the few of Sluice's own (docs/configuration.md lists them).
      const own = REFERENCE ? [] : BROKER_CONFIG.names().filter((k) => BROKER_CONFIG.get(k)?.sluiceOnly);
      expect([...configLines(r.stdout).keys()].sort()).toEqual(
        [...KAFKA_4_4_BROKER_CONFIG_KEYS, ...own].sort(),
      );
    });

    afterAll(async () => {
      await tool('kafka-configs', [
        '--alter',
        '--entity-type',
        'brokers',
        '--entity-default',
        '--delete-config',
        'log.retention.ms',
      ]);
    });
  });

  describe('kafka-consumer-groups', () => {
    const topic = `tools-groups-${RUN}`;
    const group = `tools-group-${RUN}`;
    const t0 = Date.now() - 3_600_000;

    beforeAll(async () => {
      await createTopic(topic, 3);
      // 30 records per partition, timestamps t0 + i s.
      for (const p of [0, 1, 2]) await produce(topic, p, 30, (i) => t0 + i * 1000);
      // A real consumer group ran: the Java 4.4.0 consumer read all 90 records and committed.
      const r = await runJava('GroupConsumer.java', [bootstrap, group, topic, '90'], 150_000, '4.4.0');
      expect(r.code, show(r)).toBe(0);
      expect(JSON.parse(lines(r.stdout).pop()!)).toMatchObject({
        count: 90,
        committed: { 0: 30, 1: 30, 2: 30 },
      });
    }, 300_000);

    const committed = async (): Promise<number[]> => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offs = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return offs[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
      } finally {
        await admin.disconnect();
      }
    };

    it('--list, --list --state and --list --type show the group', async () => {
      let r = await tool('kafka-consumer-groups', ['--list']);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout)).toContain(group);
      r = await tool('kafka-consumer-groups', ['--list', '--state']);
      expect(lines(r.stdout)[0]!.split(/\s+/)).toEqual(['GROUP', 'STATE']);
      expect(table(r.stdout)).toContainEqual([group, 'Empty']);
      r = await tool('kafka-consumer-groups', ['--list', '--type']);
      expect(table(r.stdout)).toContainEqual([group, 'Classic']);
    });

    it('--describe shows committed offsets, log end offsets and lag; --state the coordinator and state', async () => {
      let r = await tool('kafka-consumer-groups', ['--describe', '--group', group]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toContain(`Consumer group '${group}' has no active members.`);
      expect(
        lines(r.stdout)
          .find((l) => l.startsWith('GROUP'))!
          .split(/\s+/),
      ).toEqual([
        'GROUP',
        'TOPIC',
        'PARTITION',
        'CURRENT-OFFSET',
        'LOG-END-OFFSET',
        'LAG',
        'CONSUMER-ID',
        'HOST',
        'CLIENT-ID',
      ]);
      expect(table(r.stdout).sort((a, b) => Number(a[2]) - Number(b[2]))).toEqual(
        [0, 1, 2].map((p) => [group, topic, String(p), '30', '30', '0', '-', '-', '-']),
      );
      r = await tool('kafka-consumer-groups', ['--describe', '--group', group, '--state']);
      expect(table(r.stdout)).toEqual([[group, bootstrap, '(1)', '-', 'Empty', '0']]);
    });

    it('an active member: --describe --members --verbose, and --delete / --reset-offsets are refused', async () => {
      // A consumer in the group: it starts from the committed offsets (30 each) and waits for 10 more.
      const consumer = runJava(
        'GroupConsumer.java',
        [bootstrap, group, topic, '10', 'client.id=tools-client'],
        150_000,
        '4.4.0',
      );
      try {
        let state = '';
        for (let i = 0; i < 60 && state !== 'Stable'; i++) {
          const s = await tool('kafka-consumer-groups', ['--describe', '--group', group, '--state']);
          state = table(s.stdout)[0]?.[4] ?? '';
        }
        expect(state).toBe('Stable');
        let r = await tool('kafka-consumer-groups', ['--describe', '--group', group, '--state']);
        expect(table(r.stdout)).toEqual([[group, bootstrap, '(1)', 'range', 'Stable', '1']]);
        r = await tool('kafka-consumer-groups', ['--describe', '--group', group, '--members', '--verbose']);
        expect(table(r.stdout)).toEqual([
          [
            group,
            expect.stringMatching(/^tools-client-[0-9a-f-]{36}$/),
            '/127.0.0.1',
            'tools-client',
            '3',
            '-',
            `${topic}:0,1,2`,
            '-',
            '-',
          ],
        ]);
        r = await tool('kafka-consumer-groups', ['--delete', '--group', group]);
        expect(r.stdout).toContain(
          `* Group '${group}' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.`,
        );
        r = await tool('kafka-consumer-groups', [
          '--reset-offsets',
          '--group',
          group,
          '--topic',
          topic,
          '--to-earliest',
          '--execute',
        ]);
        expect(r.stdout).toContain(
          `Error: Assignments can only be reset if the group '${group}' is inactive, but the current state is Stable.`,
        );
      } finally {
        // 10 more records: the consumer reads them, commits and leaves.
        await produce(topic, 0, 10, (i) => t0 + (30 + i) * 1000);
        const r = await consumer;
        expect(r.code, show(r)).toBe(0);
        expect(JSON.parse(lines(r.stdout).pop()!)).toMatchObject({
          count: 10,
          committed: { 0: 40, 1: 30, 2: 30 },
        });
      }
    });

    it('--reset-offsets: --dry-run, --to-offset, --shift-by, --to-datetime, --to-latest', async () => {
      const reset = async (...args: string[]) => {
        const r = await tool('kafka-consumer-groups', ['--reset-offsets', '--group', group, ...args]);
        expect(r.code, show(r)).toBe(0);
        return table(r.stdout)
          .map((row) => {
            expect(row.slice(0, 2)).toEqual([group, topic]);
            return [Number(row[2]), Number(row[3])];
          })
          .sort((a, b) => a[0]! - b[0]!);
      };
      expect(await committed()).toEqual([40, 30, 30]);
      expect(await reset('--topic', topic, '--to-earliest', '--dry-run')).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
      ]);
      expect(await committed()).toEqual([40, 30, 30]);
      expect(await reset('--topic', `${topic}:0,1`, '--to-offset', '5', '--execute')).toEqual([
        [0, 5],
        [1, 5],
      ]);
      expect(await committed()).toEqual([5, 5, 30]);
      expect(await reset('--topic', topic, '--shift-by', '-2', '--execute')).toEqual([
        [0, 3],
        [1, 3],
        [2, 28],
      ]);
      // The first record at or after t0 + 12.5 s: offset 13 in every partition.
      const at = new Date(t0 + 12_500).toISOString();
      expect(await reset('--all-topics', '--to-datetime', at, '--execute')).toEqual([
        [0, 13],
        [1, 13],
        [2, 13],
      ]);
      expect(await committed()).toEqual([13, 13, 13]);
      expect(await reset('--topic', topic, '--to-latest', '--execute')).toEqual([
        [0, 40],
        [1, 30],
        [2, 30],
      ]);
      expect(await committed()).toEqual([40, 30, 30]);
    });

    it('--delete-offsets for one partition, then --delete the group', async () => {
      let r = await tool('kafka-consumer-groups', [
        '--delete-offsets',
        '--group',
        group,
        '--topic',
        `${topic}:2`,
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain(`Request succeeded for deleting offsets from group ${group}.`);
      expect(table(r.stdout, 'TOPIC')).toEqual([[topic, '2', 'Successful']]);
      expect(await committed()).toEqual([40, 30, -1]);
      r = await tool('kafka-consumer-groups', ['--describe', '--group', group, '--offsets']);
      expect(
        table(r.stdout)
          .map((row) => row.slice(1, 6))
          .sort((a, b) => Number(a[1]) - Number(b[1])),
      ).toEqual([
        [topic, '0', '40', '40', '0'],
        [topic, '1', '30', '30', '0'],
      ]);

      r = await tool('kafka-consumer-groups', ['--delete', '--group', group]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain(`Deletion of requested consumer groups ('${group}') was successful.`);
      r = await tool('kafka-consumer-groups', ['--list']);
      expect(lines(r.stdout)).not.toContain(group);
      r = await tool('kafka-consumer-groups', ['--delete', '--group', group]);
      expect(r.stdout).toContain(
        `* Group '${group}' could not be deleted due to: org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.`,
      );
    });

    gap(
      '--describe of a group that does not exist says GroupIdNotFoundException',
      'DescribeGroups v6 (KIP-1043): Sluice serves v5, so the tool sees a Dead group and prints "does not exist"',
      async () => {
        const r = await tool('kafka-consumer-groups', ['--describe', '--group', `no-such-group-${RUN}`]);
        expect(r.stdout + r.stderr).toContain(
          `Error: Executing consumer group command failed due to org.apache.kafka.common.errors.GroupIdNotFoundException: Group no-such-group-${RUN} not found.`,
        );
      },
    );
  });

  describe('kafka-get-offsets', () => {
    const topic = `tools-offsets-${RUN}`;
    const t0 = Date.now() - 3_600_000;

    beforeAll(async () => {
      await createTopic(topic, 3);
      await produce(topic, 0, 10, (i) => t0 + i * 1000);
      await produce(topic, 1, 5, (i) => t0 + i * 2000);
    });

    const offsets = async (...args: string[]): Promise<string[]> => {
      const r = await tool('kafka-get-offsets', args);
      expect(r.code, show(r)).toBe(0);
      return lines(r.stdout);
    };

    it('latest (the default), earliest and max-timestamp, for a topic and for chosen partitions', async () => {
      expect(await offsets('--topic', topic)).toEqual([`${topic}:0:10`, `${topic}:1:5`, `${topic}:2:0`]);
      expect(await offsets('--topic', topic, '--time', 'latest')).toEqual([
        `${topic}:0:10`,
        `${topic}:1:5`,
        `${topic}:2:0`,
      ]);
      expect(await offsets('--topic', topic, '--time', '-2')).toEqual([
        `${topic}:0:0`,
        `${topic}:1:0`,
        `${topic}:2:0`,
      ]);
      // max-timestamp: the offset of the record with the largest timestamp; none in an empty partition.
      expect(await offsets('--topic', topic, '--time', '-3')).toEqual([`${topic}:0:9`, `${topic}:1:4`]);
      expect(await offsets('--topic-partitions', `${topic}:0,${topic}:2`, '--time', 'earliest')).toEqual([
        `${topic}:0:0`,
        `${topic}:2:0`,
      ]);
    });

    it('by timestamp: the first offset whose timestamp is at or after it; nothing after the last', async () => {
      expect(await offsets('--topic', topic, '--time', String(t0 + 4500))).toEqual([
        `${topic}:0:5`,
        `${topic}:1:3`,
      ]);
      expect(await offsets('--topic', topic, '--time', String(t0))).toEqual([`${topic}:0:0`, `${topic}:1:0`]);
      expect(await offsets('--topic', topic, '--time', String(t0 + 60_000))).toEqual([]);
    });
  });

  describe('kafka-delete-records', () => {
    const topic = `tools-delete-${RUN}`;

    beforeAll(async () => {
      await createTopic(topic, 3);
      await produce(topic, 0, 10, (i) => Date.now() + i);
      await produce(topic, 1, 5, (i) => Date.now() + i);
    });

    const deleteRecords = async (partitions: { partition: number; offset: number }[]) => {
      const file = join(tmp, `delete-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(
        file,
        JSON.stringify({ partitions: partitions.map((p) => ({ topic, ...p })), version: 1 }),
      );
      const r = await tool('kafka-delete-records', ['--offset-json-file', file]);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout).slice(0, 2)).toEqual([
        'Executing records delete operation',
        'Records delete operation completed:',
      ]);
      // One line per partition, in no particular order.
      return lines(r.stdout).slice(2).sort();
    };

    it('deletes up to an offset and up to the high watermark (-1); earliest offsets follow', async () => {
      expect(
        await deleteRecords([
          { partition: 0, offset: 4 },
          { partition: 1, offset: -1 },
        ]),
      ).toEqual([`partition: ${topic}-0\tlow_watermark: 4`, `partition: ${topic}-1\tlow_watermark: 5`]);
      const r = await tool('kafka-get-offsets', ['--topic', topic, '--time', 'earliest']);
      expect(lines(r.stdout)).toEqual([`${topic}:0:4`, `${topic}:1:5`, `${topic}:2:0`]);
    });

    it('an offset beyond the high watermark is OFFSET_OUT_OF_RANGE', async () => {
      expect(await deleteRecords([{ partition: 0, offset: 11 }])).toEqual([
        `partition: ${topic}-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.`,
      ]);
    });

    it('a negative offset other than -1 is OFFSET_OUT_OF_RANGE', async () => {
      expect(await deleteRecords([{ partition: 2, offset: -5 }])).toEqual([
        `partition: ${topic}-2\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.`,
      ]);
    });
  });

  describe('kafka-log-dirs', () => {
    const topic = `tools-logdirs-${RUN}`;

    beforeAll(async () => {
      await createTopic(topic, 3);
      await produce(topic, 0, 100, (i) => Date.now() + i);
      await produce(topic, 2, 7, (i) => Date.now() + i);
    });

    it('--describe: each partition of the topic with its size on disk', async () => {
      const r = await tool('kafka-log-dirs', ['--describe', '--topic-list', topic]);
      expect(r.code, show(r)).toBe(0);
      const ls = lines(r.stdout);
      expect(ls.slice(0, 2)).toEqual([
        'Querying brokers for log directories information',
        'Received log directory information from brokers 1',
      ]);
      const out = JSON.parse(ls[2]!) as {
        version: number;
        brokers: {
          broker: number;
          logDirs: {
            logDir: string;
            error: string | null;
            partitions: { partition: string; size: number; offsetLag: number; isFuture: boolean }[];
          }[];
        }[];
      };
      expect(out.version).toBe(1);
      expect(out.brokers.map((b) => b.broker)).toEqual([1]);
      const dirs = out.brokers[0]!.logDirs;
      expect(dirs).toHaveLength(1);
      expect(dirs[0]!.error).toBeNull();
      if (logDir) expect(dirs[0]!.logDir).toBe(logDir);
      const parts = [...dirs[0]!.partitions].sort((a, b) => a.partition.localeCompare(b.partition));
      expect(parts.map((p) => [p.partition, p.offsetLag, p.isFuture])).toEqual(
        [0, 1, 2].map((i) => [`${topic}-${i}`, 0, false]),
      );
      // The size is the partition's segment files (.log) on disk.
      expect(parts[1]!.size).toBe(0);
      expect(parts[0]!.size).toBeGreaterThan(parts[2]!.size);
      if (logDir) {
        for (const p of parts) {
          const dir = join(logDir, p.partition);
          const onDisk = readdirSync(dir)
            .filter((f) => f.endsWith('.log'))
            .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
          expect(p.size, p.partition).toBe(onDisk);
        }
      }
    });

    it('--broker-list with a broker that does not exist is refused', async () => {
      const r = await tool('kafka-log-dirs', ['--describe', '--broker-list', '1,2', '--topic-list', topic]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'ERROR: The given brokers do not exist from --broker-list: 2. Current existent brokers: 1',
      );
    });
  });

  describe('kafka-features', () => {
    const FEATURE_LINE =
      /^Feature: (\S+)\s+SupportedMinVersion: (\S+)\s+SupportedMaxVersion: (\S+)\s+FinalizedVersionLevel: (\S+)\s+Epoch: (\d+)$/;

    gap(
      'describe lists metadata.version, transaction.version and group.version with their supported and finalized levels',
      'group.version needs KIP-848',
      async () => {
        const r = await tool('kafka-features', ['describe']);
        expect(r.code, show(r)).toBe(0);
        const features = new Map(
          lines(r.stdout).map((l) => {
            const m = FEATURE_LINE.exec(l);
            expect(m, l).not.toBeNull();
            return [m![1]!, { min: m![2]!, max: m![3]!, finalized: m![4]! }];
          }),
        );
        expect([...features.keys()]).toEqual(
          expect.arrayContaining(['metadata.version', 'transaction.version', 'group.version']),
        );
      },
    );

    it('upgrade --dry-run to the finalized level passes; an unknown feature is refused', async () => {
      const d = await tool('kafka-features', ['describe']);
      const tv = lines(d.stdout)
        .map((l) => FEATURE_LINE.exec(l))
        .find((m) => m?.[1] === 'transaction.version');
      expect(tv).toBeDefined();
      let r = await tool('kafka-features', [
        'upgrade',
        '--feature',
        `transaction.version=${tv![4]}`,
        '--dry-run',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`transaction.version can be upgraded to ${tv![4]}.\n`);
      r = await tool('kafka-features', ['upgrade', '--feature', 'no.such.feature=1', '--dry-run']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('Can not upgrade no.such.feature to 1.');
      expect(r.stdout).not.toContain('does not support UPDATE_FEATURES');
    }, 300_000);
  });
});
