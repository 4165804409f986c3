/**
 * Kafka's error answers as real clients and Kafka 4.4.0's own tools show them to a user, against a
 * real Sluice broker:
 *  - Produce, KIP-467: a batch with records that break a record-level rule is refused whole, and the
 *    Java client (kafka-clients 4.4.0) fails each bad record with the broker's reason for it and the
 *    batch's other records with "part of a batch which had one more more invalid records"; a record
 *    whose timestamp is out of message.timestamp.after.max.ms; a batch over max.message.bytes.
 *    librdkafka (confluent-kafka-python) reports the batch's error code for each of its messages.
 *  - Produce with acks=0: a failed one closes the connection, as Kafka's KafkaApis does.
 *  - DeleteRecords (kafka-delete-records): a compacted topic is a POLICY_VIOLATION.
 *  - AlterPartitionReassignments (kafka-reassign-partitions) on one broker: the current replica set
 *    is a no-op that completes; a broker that does not exist is refused.
 *  - CreateTopics (the raw protocol: kafka-topics refuses these before asking): Kafka's codes and
 *    words for bad requests.
 *  - Metadata auto-creation: UNKNOWN_TOPIC_OR_PARTITION while the creation runs, internal topics with
 *    their own partition counts and configs.
 * Every expected line is Kafka 4.4's wording (LogValidator, UnifiedLog, ReplicationControlManager,
 * ControllerApis, and the clients' own texts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureJavaClient, runJava, runPython, type RunResult } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool, type KafkaToolName } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys, encodeRequestFrame } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { errorName } from '../../src/protocol/error-codes.js';

const show = (r: RunResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');

/** Java's Long.MAX_VALUE, message.timestamp.before.max.ms's default. */
const LONG_MAX = 9223372036854775807n;

describe("Kafka's error answers", { timeout: 300_000 }, () => {
  const broker = new BrokerProcess();
  let tmp = '';

  const tool = (name: KafkaToolName, args: string[]): Promise<RunResult> =>
    runKafkaTool(name, ['--bootstrap-server', broker.bootstrap, ...args]);

  async function createTopic(topic: string, ...configs: string[]) {
    const r = await tool('kafka-topics', [
      '--create',
      '--topic',
      topic,
      '--partitions',
      '1',
      ...configs.flatMap((c) => ['--config', c]),
    ]);
    expect(r.code, show(r)).toBe(0);
  }

  const answers = async (mode: string, topic: string): Promise<string[]> => {
    const r = await runJava('KafkaAnswers.java', [mode, broker.bootstrap, topic], 180_000, '4.4.0');
    expect(r.code, show(r)).toBe(0);
    return lines(r.stdout);
  };

  beforeAll(async () => {
    await Promise.all([ensureKafkaTools(), ensureJavaClient('4.4.0')]);
    await broker.start();
    tmp = mkdtempSync(join(tmpdir(), 'sluice-kafka-answers-'));
  }, 600_000);

  afterAll(async () => {
    await broker.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('Produce (Java client 4.4.0)', () => {
    it('records without a key on a compacted topic: each bad record named, the batch not written', async () => {
      const topic = 'answers-compacted';
      await createTopic(topic, 'cleanup.policy=compact');
      expect(await answers('record-errors', topic)).toEqual([
        `err 0 org.apache.kafka.common.InvalidRecordException Compacted topic cannot accept message without key in topic partition ${topic}-0`,
        'err 1 org.apache.kafka.common.KafkaException Failed to append record because it was part of a batch which had one more more invalid records',
        `err 2 org.apache.kafka.common.InvalidRecordException Compacted topic cannot accept message without key in topic partition ${topic}-0`,
        // Nothing of the refused batch was written: the next record is the partition's first.
        'ack 3 0',
      ]);
    });

    it('a timestamp beyond message.timestamp.after.max.ms is INVALID_TIMESTAMP with the bounds', async () => {
      const topic = 'answers-timestamp';
      await createTopic(topic);
      const out = await answers('timestamp', topic);
      expect(out).toHaveLength(2);
      const m =
        /^err 0 org\.apache\.kafka\.common\.errors\.InvalidTimestampException Timestamp (\d+) of message with offset 0 is out of range\. The timestamp should be within \[(-?\d+), (\d+)\]$/.exec(
          out[0]!,
        );
      expect(m, out[0]).not.toBeNull();
      const [ts, low, high] = [BigInt(m![1]!), BigInt(m![2]!), BigInt(m![3]!)];
      // The bounds are the broker's clock minus Long.MAX_VALUE (a Java long, wrapped) and plus one
      // hour (the defaults); the record was stamped two hours ahead.
      const now = high - 3_600_000n;
      expect(low).toBe(BigInt.asIntN(64, now - LONG_MAX));
      expect(ts - now).toBeGreaterThan(3_600_000n);
      expect(ts - now).toBeLessThan(3n * 3_600_000n);
      expect(out[1]).toBe('ack 1 0');
    });

    it('a batch over max.message.bytes is MESSAGE_TOO_LARGE, answered with the code alone as Kafka does', async () => {
      const topic = 'answers-too-large';
      await createTopic(topic, 'max.message.bytes=200');
      const out = await answers('too-large', topic);
      expect(out).toHaveLength(2);
      // Kafka's ReplicaManager sends no error_message here: the client shows the code's own text.
      expect(out[0]).toBe(
        'err 0 org.apache.kafka.common.errors.RecordTooLargeException The request included a message larger than the max message size the server will accept.',
      );
      expect(out[1]).toBe('ack 1 0');
    });
  });

  describe('Produce (confluent-kafka-python, librdkafka)', () => {
    it('records without a key on a compacted topic: every message of the batch fails with INVALID_RECORD, none written', async () => {
      const topic = 'answers-compacted-python';
      await createTopic(topic, 'cleanup.policy=compact');
      const r = await runPython(
        `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
bs, topic = sys.argv[1], sys.argv[2]
# linger long enough that the three records form one batch also on a loaded machine
p = Producer({'bootstrap.servers': bs, 'linger.ms': 2000, 'enable.idempotence': False, 'retries': 0})
out = {}
def cb(i):
    def f(err, msg):
        out[i] = 'ok' if err is None else err.name()
    return f
for i, key in enumerate([None, b'k', None]):
    p.produce(topic, key=key, value=b'v%d' % i, partition=0, on_delivery=cb(i))
p.flush(30)
for i in sorted(out):
    print(i, out[i])
c = Consumer({'bootstrap.servers': bs, 'group.id': 'answers-python'})
print('watermarks', *c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10))
c.close()
`,
        [broker.bootstrap, topic],
      );
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout)).toEqual([
        '0 INVALID_RECORD',
        '1 INVALID_RECORD',
        '2 INVALID_RECORD',
        'watermarks 0 0',
      ]);
    });
  });

  describe('Produce record_errors on the wire (v11)', () => {
    it('indexes and messages of every refused record, and the summary as Kafka builds it', async () => {
      const topic = 'answers-compacted-wire';
      await createTopic(topic, 'cleanup.policy=compact');
      const c = await RawClient.connect(broker.port);
      try {
        const r = await c.request(ApiKeys.Produce, 11, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            {
              name: topic,
              partitionData: [
                {
                  index: 0,
                  records: buildRecordBatch(
                    [0, 1, 2, 3, 4].map((i) => ({ key: i === 3 ? 'k' : null, value: `${i}` })),
                  ),
                },
              ],
            },
          ],
        });
        const p = r.responses[0]!.partitionResponses[0]!;
        const why = `Compacted topic cannot accept message without key in topic partition ${topic}-0`;
        expect(errorName(p.errorCode)).toBe('INVALID_RECORD');
        expect(p.baseOffset).toBe(-1n);
        expect(p.recordErrors).toEqual(
          [0, 1, 2, 4].map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: why })),
        );
        expect(p.errorMessage).toBe(
          `One or more records have been rejected due to 4 record errors in total, and only showing the first three errors at most: [${[0, 1, 2].map((i) => `RecordError(batchIndex=${i}, message='${why}')`).join(', ')}]`,
        );
      } finally {
        c.close();
      }
    });
  });

  describe('Produce and DeleteRecords on the wire', () => {
    const produce = (c: RawClient, topic: string, records: Buffer) =>
      c
        .request(ApiKeys.Produce, 11, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
        })
        .then((r) => r.responses[0]!.partitionResponses[0]!);
    const deleteRecords = (c: RawClient, topic: string, offset: bigint) =>
      c
        .request(ApiKeys.DeleteRecords, 2, {
          topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }],
          timeoutMs: 5000,
        })
        .then((r) => {
          const p = r.topics[0]!.partitions[0]!;
          return [errorName(p.errorCode), p.lowWatermark];
        });

    it('acks=0: a failed produce closes the connection (no response can carry the error); a good one does not', async () => {
      const topic = 'answers-acks0';
      await createTopic(topic);
      const acks0 = (c: RawClient, partition: number, correlationId: number) =>
        c.writeRaw(
          encodeRequestFrame(ApiKeys.Produce, 9, correlationId, 'acks0', {
            transactionalId: null,
            acks: 0,
            timeoutMs: 5000,
            topicData: [
              {
                name: topic,
                partitionData: [{ index: partition, records: buildRecordBatch([{ value: 'x' }]) }],
              },
            ],
          }),
        );
      const c = await RawClient.connect(broker.port);
      try {
        acks0(c, 0, 1_000_001);
        // Still open: the next request is answered, and the record was written.
        const md = await c.request(ApiKeys.ListOffsets, 7, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [
            { name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
          ],
        });
        expect(md.topics[0]!.partitions[0]!.offset).toBe(1n);
        // Partition 7 does not exist: UNKNOWN_TOPIC_OR_PARTITION, so Kafka closes the connection.
        acks0(c, 7, 1_000_002);
        expect(await c.nextFrame(10_000)).toBeNull();
        expect(c.closed).toBe(true);
      } finally {
        c.close();
      }
    });

    it('two batches for one partition: INVALID_RECORD with no message, nothing written', async () => {
      const topic = 'answers-two-batches';
      await createTopic(topic);
      const c = await RawClient.connect(broker.port);
      try {
        const p = await produce(
          c,
          topic,
          Buffer.concat([buildRecordBatch([{ value: 'a' }]), buildRecordBatch([{ value: 'b' }])]),
        );
        // Kafka's ProduceRequest.validateRecords, answered by KafkaApis with the code alone.
        expect([errorName(p.errorCode), p.errorMessage, p.baseOffset, p.logStartOffset]).toEqual([
          'INVALID_RECORD',
          null,
          -1n,
          -1n,
        ]);
        const ok = await produce(c, topic, buildRecordBatch([{ value: 'c' }]));
        expect([errorName(ok.errorCode), ok.baseOffset]).toEqual(['NONE', 0n]);
      } finally {
        c.close();
      }
    });

    it('DeleteRecords: -1 is the high watermark, beyond it and other negatives are OFFSET_OUT_OF_RANGE, internal topics refused', async () => {
      const topic = 'answers-delete-wire';
      await createTopic(topic);
      const c = await RawClient.connect(broker.port);
      try {
        const p = await produce(
          c,
          topic,
          buildRecordBatch(Array.from({ length: 10 }, (_, i) => ({ value: `${i}` }))),
        );
        expect(errorName(p.errorCode)).toBe('NONE');
        expect(await deleteRecords(c, topic, 4n)).toEqual(['NONE', 4n]);
        expect(await deleteRecords(c, topic, 2n)).toEqual(['NONE', 4n]); // below the start: no change
        expect(await deleteRecords(c, topic, 11n)).toEqual(['OFFSET_OUT_OF_RANGE', -1n]);
        expect(await deleteRecords(c, topic, -2n)).toEqual(['OFFSET_OUT_OF_RANGE', -1n]);
        expect(await deleteRecords(c, topic, -1n)).toEqual(['NONE', 10n]);
        // __consumer_offsets exists once a FindCoordinator asked for it (an earlier test may have);
        // DeleteRecords on it is then Kafka's INVALID_TOPIC_EXCEPTION.
        await c.request(ApiKeys.FindCoordinator, 2, { key: 'answers-group', keyType: 0 });
        let answer = await deleteRecords(c, '__consumer_offsets', 0n);
        for (let i = 0; i < 200 && answer[0] === 'UNKNOWN_TOPIC_OR_PARTITION'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          answer = await deleteRecords(c, '__consumer_offsets', 0n);
        }
        expect(answer).toEqual(['INVALID_TOPIC_EXCEPTION', -1n]);
      } finally {
        c.close();
      }
    });
  });

  describe('kafka-delete-records', () => {
    it('a compacted topic is refused with PolicyViolationException', async () => {
      const topic = 'answers-delete-compacted';
      await createTopic(topic, 'cleanup.policy=compact');
      const file = join(tmp, 'delete.json');
      writeFileSync(file, JSON.stringify({ partitions: [{ topic, partition: 0, offset: 0 }], version: 1 }));
      const r = await tool('kafka-delete-records', ['--offset-json-file', file]);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout)).toEqual([
        'Executing records delete operation',
        'Records delete operation completed:',
        `partition: ${topic}-0\terror: org.apache.kafka.common.errors.PolicyViolationException: Request parameters do not satisfy the configured policy.`,
      ]);
    });
  });

  describe('kafka-reassign-partitions (one broker)', () => {
    const topic = 'answers-reassign';
    const plan = (replicas: number[]): string => {
      const file = join(tmp, `reassign-${replicas.join('-')}.json`);
      writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas }] }));
      return file;
    };

    beforeAll(() => createTopic(topic));

    it('to the current replica set: started, and verified as completed', async () => {
      const file = plan([1]);
      let r = await tool('kafka-reassign-partitions', ['--execute', '--reassignment-json-file', file]);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout)).toContain(`Successfully started partition reassignment for ${topic}-0`);
      r = await tool('kafka-reassign-partitions', ['--verify', '--reassignment-json-file', file]);
      expect(r.code, show(r)).toBe(0);
      expect(lines(r.stdout).slice(0, 2)).toEqual([
        'Status of partition reassignment:',
        `Reassignment of partition ${topic}-0 is completed.`,
      ]);
    });

    it('AlterPartitionReassignments answers per partition as a one-broker Kafka', async () => {
      const c = await RawClient.connect(broker.port);
      try {
        const r = await c.request(ApiKeys.AlterPartitionReassignments, 0, {
          timeoutMs: 10_000,
          topics: [
            {
              name: topic,
              partitions: [
                { partitionIndex: 0, replicas: [1] },
                { partitionIndex: 1, replicas: [1] },
              ],
            },
            { name: 'answers-no-such-topic', partitions: [{ partitionIndex: 0, replicas: [1] }] },
          ],
        });
        expect([errorName(r.errorCode), r.errorMessage]).toEqual(['NONE', null]);
        expect(
          r.responses.map((t) => [
            t.name,
            t.partitions.map((p) => [p.partitionIndex, errorName(p.errorCode), p.errorMessage]),
          ]),
        ).toEqual([
          [
            topic,
            [
              [0, 'NONE', null],
              [1, 'UNKNOWN_TOPIC_OR_PARTITION', `Unable to find partition ${topic}:1.`],
            ],
          ],
          [
            'answers-no-such-topic',
            [[0, 'UNKNOWN_TOPIC_OR_PARTITION', 'Unable to find a topic named answers-no-such-topic.']],
          ],
        ]);
        const cases: [number[] | null, string, string][] = [
          [
            [1, 1],
            'INVALID_REPLICA_ASSIGNMENT',
            'The manual partition assignment includes the broker 1 more than once.',
          ],
          [
            [1, 2],
            'INVALID_REPLICA_ASSIGNMENT',
            'The manual partition assignment includes broker 2, but no such broker is registered.',
          ],
          [
            [],
            'INVALID_REPLICA_ASSIGNMENT',
            'The manual partition assignment includes an empty replica list.',
          ],
          [null, 'NO_REASSIGNMENT_IN_PROGRESS', 'No partition reassignment is in progress.'],
        ];
        for (const [replicas, error, message] of cases) {
          const a = await c.request(ApiKeys.AlterPartitionReassignments, 0, {
            timeoutMs: 10_000,
            topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }],
          });
          const p = a.responses[0]!.partitions[0]!;
          expect([errorName(p.errorCode), p.errorMessage], JSON.stringify(replicas)).toEqual([
            error,
            message,
          ]);
        }
      } finally {
        c.close();
      }
    });
  });

  describe('CreateTopics', () => {
    it('duplicate names, the metadata topic and manual assignments answer as Kafka', async () => {
      const c = await RawClient.connect(broker.port);
      const topicReq = (
        name: string,
        o: { numPartitions?: number; replicationFactor?: number; assignments?: [number, number[]][] } = {},
      ) => ({
        name,
        numPartitions: o.numPartitions ?? -1,
        replicationFactor: o.replicationFactor ?? -1,
        assignments: (o.assignments ?? []).map(([partitionIndex, brokerIds]) => ({
          partitionIndex,
          brokerIds,
        })),
        configs: [],
      });
      try {
        const r = await c.request(ApiKeys.CreateTopics, 7, {
          topics: [
            topicReq('answers-dup'),
            topicReq('answers-dup'),
            topicReq('__cluster_metadata'),
            topicReq('answers-assign-rf', { replicationFactor: 1, assignments: [[0, [1]]] }),
            topicReq('answers-assign-np', { numPartitions: 1, assignments: [[0, [1]]] }),
            topicReq('answers-assign-twice', {
              assignments: [
                [0, [1]],
                [0, [1]],
              ],
            }),
            topicReq('answers-assign-gap', {
              assignments: [
                [0, [1]],
                [2, [1]],
              ],
            }),
            topicReq('answers-assign-unknown', { assignments: [[0, [7]]] }),
            topicReq('answers-rf-minus-2', { replicationFactor: -2 }),
            topicReq('answers-np-minus-2', { numPartitions: -2 }),
          ],
          timeoutMs: 10_000,
          validateOnly: true,
        });
        expect(r.topics.map((t) => [t.name, errorName(t.errorCode), t.errorMessage])).toEqual([
          ['answers-dup', 'INVALID_REQUEST', 'Duplicate topic name.'],
          [
            '__cluster_metadata',
            'INVALID_REQUEST',
            'Creation of internal topic __cluster_metadata is prohibited.',
          ],
          [
            'answers-assign-rf',
            'INVALID_REQUEST',
            'A manual partition assignment was specified, but replication factor was not set to -1.',
          ],
          [
            'answers-assign-np',
            'INVALID_REQUEST',
            'A manual partition assignment was specified, but numPartitions was not set to -1.',
          ],
          [
            'answers-assign-twice',
            'INVALID_REPLICA_ASSIGNMENT',
            'Found multiple manual partition assignments for partition 0',
          ],
          [
            'answers-assign-gap',
            'INVALID_REPLICA_ASSIGNMENT',
            'partitions should be a consecutive 0-based integer sequence',
          ],
          [
            'answers-assign-unknown',
            'INVALID_REPLICA_ASSIGNMENT',
            'The manual partition assignment includes broker 7, but no such broker is registered.',
          ],
          [
            'answers-rf-minus-2',
            'INVALID_REPLICATION_FACTOR',
            'Replication factor must be larger than 0, or -1 to use the default value.',
          ],
          [
            'answers-np-minus-2',
            'INVALID_PARTITIONS',
            'Number of partitions was set to an invalid non-positive value.',
          ],
        ]);
      } finally {
        c.close();
      }
    });
  });
  describe('Metadata auto-creation', () => {
    // Kafka 4.4 (AutoTopicCreationManager, KRaft): the first Metadata naming an unknown topic starts its
    // creation and answers UNKNOWN_TOPIC_OR_PARTITION; a later refresh finds it. Internal topics are
    // created with their coordinators' partition counts and configs.
    const metadataOf = async (c: RawClient, topic: string, allowAutoTopicCreation: boolean) => {
      const r = await c.request(ApiKeys.Metadata, 12, {
        topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
        allowAutoTopicCreation,
        includeTopicAuthorizedOperations: false,
      });
      return r.topics[0]!;
    };
    const untilKnown = async (c: RawClient, topic: string) => {
      for (let i = 0; i < 100; i++) {
        const t = await metadataOf(c, topic, true);
        if (t.errorCode === 0) return t;
        expect(errorName(t.errorCode)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${topic} was not created`);
    };

    it('an unknown topic: UNKNOWN_TOPIC_OR_PARTITION first, then the created topic', async () => {
      const c = await RawClient.connect(broker.port);
      try {
        const notAllowed = await metadataOf(c, 'answers-auto-off', false);
        expect(errorName(notAllowed.errorCode)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
        const first = await metadataOf(c, 'answers-auto', true);
        expect([errorName(first.errorCode), first.isInternal, first.partitions]).toEqual([
          'UNKNOWN_TOPIC_OR_PARTITION',
          false,
          [],
        ]);
        const created = await untilKnown(c, 'answers-auto');
        expect(created.partitions.map((p) => [p.partitionIndex, p.leaderId])).toEqual([[0, 1]]);
        // Not created when the request does not allow it.
        expect(errorName((await metadataOf(c, 'answers-auto-off', false)).errorCode)).toBe(
          'UNKNOWN_TOPIC_OR_PARTITION',
        );
      } finally {
        c.close();
      }
    });

    it('__transaction_state is created with the transaction log partitions and configs', async () => {
      const c = await RawClient.connect(broker.port);
      try {
        const first = await metadataOf(c, '__transaction_state', true);
        expect([errorName(first.errorCode), first.isInternal]).toEqual(['UNKNOWN_TOPIC_OR_PARTITION', true]);
        const created = await untilKnown(c, '__transaction_state');
        expect(created.isInternal).toBe(true);
        expect(created.partitions).toHaveLength(50);
        const r = await tool('kafka-configs', [
          '--describe',
          '--entity-type',
          'topics',
          '--entity-name',
          '__transaction_state',
        ]);
        expect(r.code, show(r)).toBe(0);
        expect(r.stdout).toContain('cleanup.policy=compact');
        expect(r.stdout).toContain('unclean.leader.election.enable=false');
      } finally {
        c.close();
      }
    });
  });
});
