import { RawClient } from './test/helpers/raw-client.js';
import { ApiKeys } from './src/protocol/messages/index.js';
import { buildRecordBatch } from './src/protocol/records/build.js';
import { TimestampType } from './src/protocol/records/batch-header.js';
import { errorName } from './src/protocol/error-codes.js';
const port = Number(process.argv[2]);
const s = process.argv[3] ?? 'x';
const c = await RawClient.connect(port);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type T = { name: string; numPartitions?: number; replicationFactor?: number; assignments?: { partitionIndex: number; brokerIds: number[] }[]; configs?: Record<string, string | null> };
async function create(label: string, topics: T[], validateOnly = false) {
  const r = await c.request(ApiKeys.CreateTopics, 7, { topics: topics.map((t) => ({ name: t.name, numPartitions: t.numPartitions ?? -1, replicationFactor: t.replicationFactor ?? -1, assignments: t.assignments ?? [], configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })) })), timeoutMs: 10000, validateOnly });
  for (const t of r.topics) console.log('create', label, t.name, errorName(t.errorCode), JSON.stringify(t.errorMessage), t.numPartitions, t.replicationFactor, t.topicId === '00000000-0000-0000-0000-000000000000' ? 'zero-id' : 'id', t.configs?.length ?? null);
}
await create('rf-too-big', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: 3 }]);
await create('rf-0', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: 0 }]);
await create('rf--2', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: -2 }]);
await create('np-0', [{ name: `a-${s}`, numPartitions: 0, replicationFactor: 1 }]);
await create('np--2', [{ name: `a-${s}`, numPartitions: -2, replicationFactor: 1 }]);
await create('np-0-rf-0', [{ name: `a-${s}`, numPartitions: 0, replicationFactor: 0 }]);
await create('bad-config-key', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: 1, configs: { 'no.such.key': '1' } }]);
await create('bad-config-value', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': 'abc' } }]);
await create('null-config', [{ name: `a-${s}`, numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': null } }]);
await create('bad-name', [{ name: `bad name ${s}`, numPartitions: 1, replicationFactor: 1 }]);
await create('bad-name-dots', [{ name: `..`, numPartitions: 1, replicationFactor: 1 }]);
await create('dup', [{ name: `d-${s}`, numPartitions: 1 }, { name: `d-${s}`, numPartitions: 1 }, { name: `e-${s}`, numPartitions: 1 }], true);
await create('assign+rf', [{ name: `a-${s}`, replicationFactor: 1, assignments: [{ partitionIndex: 0, brokerIds: [1] }] }]);
await create('assign+np', [{ name: `a-${s}`, numPartitions: 1, assignments: [{ partitionIndex: 0, brokerIds: [1] }] }]);
await create('assign-dupbroker', [{ name: `a-${s}`, assignments: [{ partitionIndex: 0, brokerIds: [1, 1] }] }]);
await create('assign-unknown', [{ name: `a-${s}`, assignments: [{ partitionIndex: 0, brokerIds: [7] }] }]);
await create('assign-gap', [{ name: `a-${s}`, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [1] }] }]);
await create('assign-dup-partition', [{ name: `a-${s}`, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }] }]);
await create('assign-empty', [{ name: `a-${s}`, assignments: [{ partitionIndex: 0, brokerIds: [] }] }]);
await create('internal-offsets', [{ name: `__consumer_offsets`, numPartitions: 1 }]);
await create('internal-metadata', [{ name: `__cluster_metadata`, numPartitions: 1 }]);
await create('validate-only-ok', [{ name: `v-${s}`, numPartitions: 2 }], true);
await create('validate-only-rf', [{ name: `v-${s}`, numPartitions: 2, replicationFactor: 5 }], true);
await create('ok', [{ name: `ok-${s}`, numPartitions: 2 }]);
await create('exists', [{ name: `ok-${s}`, numPartitions: 2 }]);
await create('collide', [{ name: `ok_${s}`, numPartitions: 2 }]);
// metadata auto-create
async function md(label: string, names: string[], allow = true, v = 12) {
  const r = await c.request(ApiKeys.Metadata, v, { topics: names.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })), allowAutoTopicCreation: allow, includeTopicAuthorizedOperations: false });
  for (const t of r.topics) console.log('md', label, t.name, errorName(t.errorCode), 'parts', t.partitions.map((p) => `${p.partitionIndex}:${errorName(p.errorCode)}:L${p.leaderId}`).join(','), t.topicId === '00000000-0000-0000-0000-000000000000' ? 'zero-id' : 'id', t.isInternal);
}
await md('no-auto', [`auto-no-${s}`], false);
await md('auto-1', [`auto-${s}`]);
await md('auto-2-immediate', [`auto-${s}`]);
await sleep(1500);
await md('auto-3', [`auto-${s}`]);
await md('auto-bad-name', [`bad name`]);
await md('auto-internal', [`__transaction_state`]);
await md('auto-v3', [`auto-v3-${s}`], true, 3);
// delete then metadata immediately
const del = await c.request(ApiKeys.DeleteTopics, 6, { topics: [{ name: `ok-${s}`, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 10000 });
console.log('delete', errorName(del.responses[0]!.errorCode));
await md('after-delete', [`ok-${s}`]);
await create('recreate-after-delete', [{ name: `ok-${s}`, numPartitions: 2 }]);
await sleep(1500);
await md('after-delete-2', [`ok-${s}`]);
// delete records
await create('dr', [{ name: `dr-${s}`, numPartitions: 1 }]);
await sleep(1500);
await c.request(ApiKeys.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: `dr-${s}`, partitionData: [{ index: 0, records: buildRecordBatch(Array.from({ length: 10 }, (_, i) => ({ value: String(i) }))) }] }] });
async function dr(label: string, offset: bigint, part = 0) {
  const r = await c.request(ApiKeys.DeleteRecords, 2, { topics: [{ name: `dr-${s}`, partitions: [{ partitionIndex: part, offset }] }], timeoutMs: 5000 });
  const p = r.topics[0]!.partitions[0]!;
  console.log('dr', label, errorName(p.errorCode), String(p.lowWatermark));
}
await dr('to-4', 4n); await dr('to-2-below-start', 2n); await dr('to-11', 11n); await dr('to-10', 10n); await dr('-5', -5n); await dr('-1', -1n); await dr('-2', -2n); await dr('unknown-partition', 1n, 3);
// LogAppendTime topic with LogAppendTime attr
await create('lat', [{ name: `lat-${s}`, numPartitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } }]);
await sleep(1500);
for (const tt of [TimestampType.CreateTime, TimestampType.LogAppendTime]) {
  const r = await c.request(ApiKeys.Produce, 11, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: `lat-${s}`, partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'k', value: '1' }, {key: 'kk', value: '12345'}], { timestampType: tt }) }] }] });
  const p = r.responses[0]!.partitionResponses[0]!;
  console.log('lat', tt, errorName(p.errorCode), p.errorMessage, JSON.stringify(p.recordErrors));
}
{
  const r = await c.request(ApiKeys.Produce, 11, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: `dr-${s}`, partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'k', value: '1', timestamp: -1n }, {key: null, value: '12345', timestamp: -1n}], { timestampType: TimestampType.LogAppendTime, baseTimestamp: -1n }) }] }] });
  const p = r.responses[0]!.partitionResponses[0]!;
  console.log('create-topic-lat-attr-ts-1', errorName(p.errorCode), p.errorMessage, JSON.stringify(p.recordErrors));
}
c.close();
