/**
 * Admin requests sent to a broker that is not the controller are forwarded to the active
 * controller, which writes them. What the client sees is what a single node answers: the same error
 * codes and messages for bad requests, success for good ones, and a Metadata request on the same
 * connection right after a write already sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;

/** The admin requests of this test, each answered as [error code, message] per entry. */
async function adminSequence(c: RawClient): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const created = await c.request(ApiKeys.CreateTopics, 7, {
    topics: [
      {
        name: 'bad-config',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'cleanup.policy', value: 'shred' }],
      },
      {
        name: 'fwd',
        numPartitions: 2,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'retention.ms', value: '60000' }],
      },
      { name: 'no-partitions', numPartitions: 0, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  out.create = created.topics.map((t) => [
    t.name,
    t.errorCode,
    t.errorMessage,
    t.numPartitions,
    t.configs?.find((x) => x.name === 'retention.ms')?.value,
  ]);
  const again = await c.request(ApiKeys.CreateTopics, 7, {
    topics: [{ name: 'fwd', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  out.createAgain = again.topics.map((t) => [t.errorCode, t.errorMessage]);
  // Read-your-writes: this broker's Metadata already has the topic.
  const md = await c.request(ApiKeys.Metadata, 12, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'fwd' }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  out.metadataAfterCreate = md.topics.map((t) => [t.name, t.errorCode, t.partitions.length]);

  const parts = await c.request(ApiKeys.CreatePartitions, 3, {
    topics: [
      { name: 'fwd', count: 1, assignments: null },
      { name: 'nope', count: 3, assignments: null },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  out.createPartitionsBad = parts.results.map((r) => [r.name, r.errorCode, r.errorMessage]);
  const grown = await c.request(ApiKeys.CreatePartitions, 3, {
    topics: [{ name: 'fwd', count: 3, assignments: null }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  out.createPartitions = grown.results.map((r) => [r.name, r.errorCode, r.errorMessage]);

  const inc = await c.request(ApiKeys.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: TOPIC,
        resourceName: 'fwd',
        configs: [{ name: 'retention.ms', configOperation: SET, value: 'soon' }],
      },
      {
        resourceType: TOPIC,
        resourceName: 'fwd',
        configs: [{ name: 'segment.ms', configOperation: SET, value: '100000' }],
      },
      {
        resourceType: BROKER,
        resourceName: '',
        configs: [{ name: 'log.dirs', configOperation: SET, value: '/x' }],
      },
      {
        resourceType: BROKER,
        resourceName: '',
        configs: [{ name: 'log.retention.ms', configOperation: SET, value: '600000' }],
      },
    ],
    validateOnly: false,
  });
  out.incrementalAlterConfigs = inc.responses.map((r) => [r.resourceName, r.errorCode, r.errorMessage]);
  const alter = await c.request(ApiKeys.AlterConfigs, 2, {
    resources: [
      { resourceType: TOPIC, resourceName: 'fwd', configs: [{ name: 'min.insync.replicas', value: '0' }] },
      { resourceType: TOPIC, resourceName: 'fwd', configs: [{ name: 'retention.ms', value: '120000' }] },
    ],
    validateOnly: false,
  });
  out.alterConfigs = alter.responses.map((r) => [r.resourceName, r.errorCode, r.errorMessage]);
  const described = await c.request(ApiKeys.DescribeConfigs, 4, {
    resources: [
      { resourceType: TOPIC, resourceName: 'fwd', configurationKeys: ['retention.ms', 'segment.ms'] },
    ],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  out.describeAfterAlter = described.results[0]!.configs.map((x) => [x.name, x.value]);

  const deleted = await c.request(ApiKeys.DeleteTopics, 6, {
    topics: [
      { name: 'nope', topicId: '00000000-0000-0000-0000-000000000000' },
      { name: 'fwd', topicId: '00000000-0000-0000-0000-000000000000' },
    ],
    timeoutMs: 30_000,
  });
  out.delete = deleted.responses.map((r) => [r.name, r.errorCode, r.errorMessage]);
  const gone = await c.request(ApiKeys.Metadata, 12, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'fwd' }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  out.metadataAfterDelete = gone.topics.map((t) => [t.name, t.errorCode]);
  return out;
}

describe('admin requests on a broker that is not the controller', { timeout: 180_000 }, () => {
  let single: BrokerProcess;
  let cluster: TestCluster;

  beforeAll(async () => {
    [single, cluster] = await Promise.all([
      new BrokerProcess().start(),
      new TestCluster({ brokers: 2 }).start(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([single?.cleanup(), cluster?.cleanup()]);
  }, 60_000);

  it('are forwarded to the controller and answered exactly as a single node answers them', async () => {
    const controller = await cluster.waitFor(
      'a controller',
      async () => {
        const c = await cluster.controller();
        return c > 0 ? c : undefined;
      },
      30_000,
    );
    const other = controller === 1 ? 2 : 1;

    const alone = await RawClient.connect(single.port);
    const expected = await adminSequence(alone);
    alone.close();

    const c = await RawClient.connect(cluster.broker(other).port);
    const got = await adminSequence(c);
    c.close();

    console.log('admin-forwarding answers', JSON.stringify(got));
    expect(got).toEqual(expected);
    // And what a user checks first: the bad config is refused as Kafka refuses it.
    expect((expected.create as unknown[][])[0]).toEqual([
      'bad-config',
      40, // INVALID_CONFIG
      'Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete',
      -1,
      undefined,
    ]);
    expect(expected.metadataAfterCreate).toEqual([['fwd', 0, 2]]);
    expect(expected.metadataAfterDelete).toEqual([['fwd', 3]]);
  });
});
