/**
 * Apache Kafka 4.4.0's own command-line tools, from Maven Central (test/clients/kafka-4.4/pom.xml,
 * jars cached in ~/.cache/sluice/kafka-4.4.0). Each shell script of a Kafka distribution runs one
 * main class; the tests run the same class with `java -cp`, so what they exercise is exactly what
 * `kafka-topics.sh`, `kafka-configs.sh`, `kafka-dump-log.sh` … do.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './broker-process.js';
import { run, type RunResult } from './clients.js';

export const KAFKA_TOOLS_VERSION = '4.4.0';
const LIB_DIR = join(homedir(), '.cache', 'sluice', `kafka-${KAFKA_TOOLS_VERSION}`);

/** The main class behind each of Kafka 4.4's scripts (bin/<script>.sh → kafka-run-class.sh <class>). */
export const KAFKA_TOOL = {
  'kafka-topics': 'org.apache.kafka.tools.TopicCommand',
  'kafka-configs': 'org.apache.kafka.tools.ConfigCommand',
  'kafka-consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  'kafka-get-offsets': 'org.apache.kafka.tools.GetOffsetShell',
  'kafka-delete-records': 'org.apache.kafka.tools.DeleteRecordsCommand',
  'kafka-log-dirs': 'org.apache.kafka.tools.LogDirsCommand',
  'kafka-features': 'org.apache.kafka.tools.FeatureCommand',
  'kafka-dump-log': 'org.apache.kafka.tools.DumpLogSegments',
  'kafka-transactions': 'org.apache.kafka.tools.TransactionsCommand',
  'kafka-acls': 'org.apache.kafka.tools.AclCommand',
  'kafka-reassign-partitions': 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
  'kafka-producer-perf-test': 'org.apache.kafka.tools.ProducerPerformance',
} as const;

export type KafkaToolName = keyof typeof KAFKA_TOOL;

/** Make sure Kafka 4.4.0's jars are in ~/.cache/sluice (Maven Central, once per version). */
export async function ensureKafkaTools(): Promise<string> {
  if (existsSync(LIB_DIR) && readdirSync(LIB_DIR).some((f) => f.startsWith('kafka-tools-'))) return LIB_DIR;
  const r = await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/clients/kafka-4.4/pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${LIB_DIR}`,
    ],
    { timeoutMs: 600_000 },
  );
  if (r.code !== 0)
    throw new Error(`fetching Kafka ${KAFKA_TOOLS_VERSION}'s tools failed:\n${r.stdout}\n${r.stderr}`);
  return LIB_DIR;
}

/** Run one of Kafka's tools as its script would (`kafka-topics.sh --bootstrap-server … --list`). */
export async function runKafkaTool(
  tool: KafkaToolName,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const lib = await ensureKafkaTools();
  return run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      // As kafka-run-class.sh: quiet logging, small heap, no JMX. The tools are short-lived: the
      // C1 compiler alone starts them with about a quarter less CPU.
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      KAFKA_TOOL[tool],
      ...args,
    ],
    { timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) },
  );
}
