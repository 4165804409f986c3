import { RawClient } from './test/helpers/raw-client.js';
import { ApiKeys } from './src/protocol/messages/index.js';
import { errorName } from './src/protocol/error-codes.js';
const port = Number(process.argv[2]);
const s = process.argv[3] ?? 'x';
const c = await RawClient.connect(port);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const topic = `re-${s}`;
const cr = await c.request(ApiKeys.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
console.log('create', errorName(cr.topics[0]!.errorCode));
await sleep(1500);
async function re(label: string, parts: { topic?: string; p: number; replicas: number[] | null }[]) {
  const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const x of parts) { const t = x.topic ?? topic; if (!byTopic.has(t)) byTopic.set(t, []); byTopic.get(t)!.push({ partitionIndex: x.p, replicas: x.replicas }); }
  const r = await c.request(ApiKeys.AlterPartitionReassignments, 0, { timeoutMs: 10000, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) });
  console.log('re', label, errorName(r.errorCode), JSON.stringify(r.errorMessage), JSON.stringify(r.responses.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, errorName(p.errorCode), p.errorMessage])])));
}
await re('same', [{ p: 0, replicas: [1] }]);
await re('same-both', [{ p: 0, replicas: [1] }, { p: 1, replicas: [1] }]);
await re('dup', [{ p: 0, replicas: [1, 1] }]);
await re('unknown-broker', [{ p: 0, replicas: [2] }]);
await re('unknown-broker-2', [{ p: 0, replicas: [1, 2] }]);
await re('empty', [{ p: 0, replicas: [] }]);
await re('negative', [{ p: 0, replicas: [-1] }]);
await re('cancel-none', [{ p: 0, replicas: null }]);
await re('partition-out-of-range', [{ p: 5, replicas: [1] }]);
await re('unknown-topic', [{ topic: `nope-${s}`, p: 0, replicas: [1] }]);
await re('mixed', [{ p: 0, replicas: [1] }, { p: 1, replicas: [7] }]);
const l = await c.request(ApiKeys.ListPartitionReassignments, 0, { timeoutMs: 10000, topics: null });
console.log('list', errorName(l.errorCode), JSON.stringify(l.topics));
const md = await c.request(ApiKeys.Metadata, 12, { topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
console.log('md', JSON.stringify(md.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderEpoch, p.replicaNodes])));
c.close();
