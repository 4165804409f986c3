import { RawClient } from './test/helpers/raw-client.js';
import { ApiKeys } from './src/protocol/messages/index.js';
import { buildRecordBatch } from './src/protocol/records/build.js';
import { errorName } from './src/protocol/error-codes.js';
const port = Number(process.argv[2]); const s = process.argv[3];
const c = await RawClient.connect(port);
const t = `drc-${s}`;
await c.request(ApiKeys.CreateTopics, 7, { topics: [{ name: t, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }], timeoutMs: 10000, validateOnly: false });
await new Promise((r) => setTimeout(r, 1500));
await c.request(ApiKeys.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: t, partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]) }] }] });
for (const off of [1n, -1n, -5n, 7n]) {
  const r = await c.request(ApiKeys.DeleteRecords, 2, { topics: [{ name: t, partitions: [{ partitionIndex: 0, offset: off }] }], timeoutMs: 5000 });
  console.log(String(off), errorName(r.topics[0]!.partitions[0]!.errorCode), String(r.topics[0]!.partitions[0]!.lowWatermark));
}
const r = await c.request(ApiKeys.DeleteRecords, 2, { topics: [{ name: `nope-${s}`, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000 });
console.log('unknown', errorName(r.topics[0]!.partitions[0]!.errorCode), String(r.topics[0]!.partitions[0]!.lowWatermark));
c.close();
