/**
 * Apache Kafka Streams 4.4.0 and Kafka Connect 4.4.0 for the tests: the jars come from Maven
 * Central (test/clients/kafka-streams-4.4/pom.xml, cached in ~/.cache/sluice/kafka-streams-4.4.0),
 * and the small Java apps of test/clients/kafka-streams-4.4 run as single-file sources (`java
 * File.java`) on that classpath.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './broker-process.js';
import { run, type RunResult } from './clients.js';

export const KAFKA_APPS_VERSION = '4.4.0';
export const KAFKA_APPS_LIB = join(homedir(), '.cache', 'sluice', `kafka-streams-${KAFKA_APPS_VERSION}`);

/** Make sure Streams' and Connect's jars are in ~/.cache/sluice (Maven Central, once per version). */
export async function ensureKafkaApps(): Promise<string> {
  if (existsSync(KAFKA_APPS_LIB) && readdirSync(KAFKA_APPS_LIB).some((f) => f.startsWith('kafka-streams-')))
    return KAFKA_APPS_LIB;
  const tmp = `${KAFKA_APPS_LIB}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/clients/kafka-streams-4.4/pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    { timeoutMs: 600_000 },
  );
  if (r.code !== 0)
    throw new Error(`fetching Kafka Streams/Connect ${KAFKA_APPS_VERSION} failed:\n${r.stderr}`);
  if (!existsSync(KAFKA_APPS_LIB)) renameSync(tmp, KAFKA_APPS_LIB);
  else rmSync(tmp, { recursive: true, force: true });
  return KAFKA_APPS_LIB;
}

/** Run a single-file Java app of test/clients/kafka-streams-4.4 with Streams/Connect on the classpath. */
export async function runKafkaApp(file: string, args: string[], timeoutMs = 180_000): Promise<RunResult> {
  const lib = await ensureKafkaApps();
  return run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      join(REPO_ROOT, 'test/clients/kafka-streams-4.4', file),
      ...args,
    ],
    { timeoutMs },
  );
}
