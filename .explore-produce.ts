import { RawClient } from '/work/wt/kafka-answers/test/helpers/raw-client.js';
import { ApiKeys } from '/work/wt/kafka-answers/src/protocol/messages/index.js';
import { buildRecordBatch, assembleBatch, encodeRecordsSection } from '/work/wt/kafka-answers/src/protocol/records/build.js';
import { CompressionType, TimestampType } from '/work/wt/kafka-answers/src/protocol/records/batch-header.js';
import { compress } from '/work/wt/kafka-answers/src/protocol/records/compression.js';
import { errorName } from '/work/wt/kafka-answers/src/protocol/error-codes.js';
const port = Number(process.argv[2]);
const c = await RawClient.connect(port);
const suffix = process.argv[3] ?? 'x';
async function create(name: string, configs: Record<string,string>) {
  const r = await c.request(ApiKeys.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }], timeoutMs: 10000, validateOnly: false });
  console.log('create', name, errorName(r.topics[0]!.errorCode), r.topics[0]!.errorMessage);
  await new Promise((r) => setTimeout(r, 1500));
}
async function produce(label: string, topic: string, records: Buffer) {
  const r = await c.request(ApiKeys.Produce, 11, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  const p = r.responses[0]!.partitionResponses[0]!;
  console.log(label, JSON.stringify({ err: errorName(p.errorCode), msg: p.errorMessage, base: String(p.baseOffset), lso: String(p.logStartOffset), recordErrors: p.recordErrors }));
}
const now = BigInt(Date.now());
const comp = `cmp-${suffix}`; await create(comp, { 'cleanup.policy': 'compact' });
await produce('ok-compacted', comp, buildRecordBatch([{ key: 'a', value: '1' }]));
await produce('nullkey-0-2', comp, buildRecordBatch([{ key: null, value: '1' }, { key: 'b', value: '2' }, { key: null, value: '3' }]));
const ts = `ts-${suffix}`; await create(ts, { 'message.timestamp.after.max.ms': '60000', 'message.timestamp.before.max.ms': '60000' });
await produce('ts-future-1', ts, buildRecordBatch([{ value: '1', timestamp: now }, { value: '2', timestamp: now + 3600_000n }, { value: '3', timestamp: now - 3600_000n }], { baseTimestamp: now }));
await produce('ts-default-after', `cmp-${suffix}`, buildRecordBatch([{ key: 'k', value: '1', timestamp: now + 2n * 3600_000n }]));
// mixed: compacted + null key + bad timestamp
const mix = `mix-${suffix}`; await create(mix, { 'cleanup.policy': 'compact', 'message.timestamp.after.max.ms': '60000' });
await produce('mix', mix, buildRecordBatch([{ key: null, value: '1', timestamp: now }, { key: 'x', value: '2', timestamp: now + 3600_000n }, { key: null, value: '3', timestamp: now + 3600_000n }], { baseTimestamp: now }));
// 5 null keys
await produce('five-nullkeys', comp, buildRecordBatch([0,1,2,3,4].map((i) => ({ key: null, value: String(i) }))));
// gzip null key
{
  const { section, maxTimestamp } = encodeRecordsSection([{ key: 'a', value: '1' }, { key: null, value: '2' }], now);
  const z = await compress(CompressionType.Gzip, section);
  await produce('gzip-nullkey-1', comp, assembleBatch(z, 2, CompressionType.Gzip, now, maxTimestamp, {}));
}
const plain = `plain-${suffix}`; await create(plain, {});
// bad count vs lastOffsetDelta
{
  const b = buildRecordBatch([{ value: '1' }, { value: '2' }]);
  b.writeInt32BE(5, 23); // lastOffsetDelta
  const { crc32c } = await import('@node-rs/crc32');
  b.writeUInt32BE(crc32c(b.subarray(21)) >>> 0, 17);
  await produce('bad-lastOffsetDelta', plain, b);
}
{
  const b = buildRecordBatch([{ value: '1' }, { value: '2' }], { producerId: 1000n, producerEpoch: 0, baseSequence: -1 });
  await produce('pid-no-seq', plain, b);
}
await produce('two-batches', plain, Buffer.concat([buildRecordBatch([{ value: '1' }]), buildRecordBatch([{ value: '2' }])]));
await produce('logappendtime-attr', plain, buildRecordBatch([{ value: '1' }], { timestampType: TimestampType.LogAppendTime }));
// record offset delta mismatch
{
  const { ByteWriter } = await import('/work/wt/kafka-answers/src/protocol/primitives.js');
  const { writeRecord } = await import('/work/wt/kafka-answers/src/protocol/records/record.js');
  const w = new ByteWriter(64);
  writeRecord(w, { value: 'a' }, 0, 0n);
  writeRecord(w, { value: 'b' }, 7, 0n);
  const sec = Buffer.from(w.finish());
  await produce('offset-delta-mismatch', plain, assembleBatch(sec, 2, CompressionType.None, now, now, {}));
}
// empty records
await produce('empty-batch-zero-records', plain, assembleBatch(Buffer.alloc(0), 0, CompressionType.None, now, now, {}));
await produce('ok-plain', plain, buildRecordBatch([{ value: '1' }]));
c.close();
