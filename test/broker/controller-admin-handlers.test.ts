/**
 * The ElectLeaders and partition-reassignment handlers without a cluster: what they forward to the
 * controller, how its per-partition answers become Kafka responses, and the single-node answers.
 */
import { describe, expect, it } from 'vitest';
import { electLeadersHandler } from '../../src/broker/handlers/elect-leaders.js';
import {
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
} from '../../src/broker/handlers/partition-reassignments.js';
import type { BrokerServices } from '../../src/broker/broker-services.js';
import type { ControlPlaneClient } from '../../src/controller/grpc/control-plane-client.js';
import type { RequestContext } from '../../src/broker/handlers/api-handler.js';
import type { PartitionState, TopicRecord } from '../../src/controller/records.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AuthHelper } from '../../src/broker/security/authorizer-helper.js';

const ctx = {} as RequestContext;
const log = { warn: () => {}, info: () => {}, error: () => {} };

function services(
  topics: Record<string, { replicas: number[][]; states: PartitionState[] }> = {},
  brokers = [1],
): BrokerServices {
  const t = new Map<string, TopicRecord>(
    Object.entries(topics).map(([name, v]) => [
      name,
      { name, topicId: name, replicas: v.replicas, configs: {} },
    ]),
  );
  const p = new Map(
    Object.entries(topics).map(([name, v]) => [name, new Map(v.states.map((s, i) => [i, s]))]),
  );
  return {
    log,
    nodeId: 1,
    // No authorizer: every check allows (the checks themselves: test/security/acls.test.ts).
    auth: new AuthHelper(null),
    table: {
      topics: t,
      brokers: new Map(brokers.map((b) => [b, {}])),
      partitionState: (topic: string, i: number) => p.get(topic)?.get(i),
    },
  } as unknown as BrokerServices;
}

function fakeClient(
  answer: Record<string, unknown>,
  seen: { method: string; req: unknown }[],
): () => ControlPlaneClient {
  const client = {
    call: (method: string, req: unknown) => {
      seen.push({ method, req });
      return Promise.resolve(answer);
    },
  };
  return () => client as unknown as ControlPlaneClient;
}

describe('ElectLeaders handler', () => {
  it('forwards the partitions and election type and groups the answers by topic', async () => {
    const seen: { method: string; req: unknown }[] = [];
    const h = electLeadersHandler(
      services(),
      fakeClient(
        {
          error: 'NONE',
          results: [
            { topic: 'a', partition: 0, error: 'NONE', message: '' },
            { topic: 'a', partition: 1, error: 'ELECTION_NOT_NEEDED', message: 'leads' },
            { topic: 'b', partition: 0, error: 'PREFERRED_LEADER_NOT_AVAILABLE', message: 'dead' },
          ],
        },
        seen,
      ),
    );
    const res = await h.handle(
      {
        electionType: 0,
        timeoutMs: 5000,
        topicPartitions: [
          { topic: 'a', partitions: [0, 1] },
          { topic: 'b', partitions: [0] },
        ],
      },
      ctx,
    );
    expect(seen).toEqual([
      {
        method: 'electLeaders',
        req: {
          electionType: 0,
          allPartitions: false,
          topicPartitions: [
            { topic: 'a', partitions: [0, 1] },
            { topic: 'b', partitions: [0] },
          ],
        },
      },
    ]);
    expect(res).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      replicaElectionResults: [
        {
          topic: 'a',
          partitionResult: [
            { partitionId: 0, errorCode: 0, errorMessage: null },
            { partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'leads' },
          ],
        },
        {
          topic: 'b',
          partitionResult: [
            { partitionId: 0, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'dead' },
          ],
        },
      ],
    });
  });

  it('asks for every partition when the list is null (v0 has no election type: preferred)', async () => {
    const seen: { method: string; req: unknown }[] = [];
    await electLeadersHandler(services(), fakeClient({ error: 'NONE', results: [] }, seen)).handle(
      { timeoutMs: 0, topicPartitions: null },
      ctx,
    );
    expect(seen[0]!.req).toMatchObject({ electionType: 0, allPartitions: true });
  });

  it('on a single node answers from its own view: nothing to elect', async () => {
    const h = electLeadersHandler(
      services({
        t: { replicas: [[1]], states: [{ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }] },
      }),
      () => null,
    );
    const res = await h.handle(
      { electionType: 0, timeoutMs: 0, topicPartitions: [{ topic: 't', partitions: [0, 3] }] },
      ctx,
    );
    expect(res!.replicaElectionResults[0]!.partitionResult.map((p) => p.errorCode)).toEqual([
      ErrorCode.ELECTION_NOT_NEEDED,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  });
});

describe('partition reassignment handlers', () => {
  it('Alter forwards targets and cancellations (null replicas) and maps the errors', async () => {
    const seen: { method: string; req: unknown }[] = [];
    const h = alterPartitionReassignmentsHandler(
      services(),
      fakeClient(
        {
          error: 'NONE',
          results: [
            { topic: 't', partition: 0, error: 'NONE', message: '' },
            { topic: 't', partition: 1, error: 'NO_REASSIGNMENT_IN_PROGRESS', message: 'none' },
          ],
        },
        seen,
      ),
    );
    const res = await h.handle(
      {
        timeoutMs: 1000,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, replicas: [3, 4] },
              { partitionIndex: 1, replicas: null },
            ],
          },
        ],
      },
      ctx,
    );
    expect(seen[0]).toEqual({
      method: 'alterPartitionReassignments',
      req: {
        reassignments: [
          { topic: 't', partition: 0, cancel: false, replicas: [3, 4] },
          { topic: 't', partition: 1, cancel: true, replicas: [] },
        ],
      },
    });
    expect(res!.responses).toEqual([
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, errorCode: 0, errorMessage: null },
          { partitionIndex: 1, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'none' },
        ],
      },
    ]);
  });

  it('Alter passes a controller-level error on and refuses on a single node', async () => {
    const notController = alterPartitionReassignmentsHandler(
      services(),
      fakeClient({ error: 'NOT_CONTROLLER', message: 'x', results: [] }, []),
    );
    expect((await notController.handle({ timeoutMs: 0, topics: [] }, ctx))!.errorCode).toBe(
      ErrorCode.NOT_CONTROLLER,
    );
    // A single node answers itself, as a one-broker Kafka: its own replica set is a no-op.
    const single = alterPartitionReassignmentsHandler(
      services({ t: { replicas: [[1]], states: [] } }),
      () => null,
    );
    const res = await single.handle(
      {
        timeoutMs: 0,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, replicas: [1] },
              { partitionIndex: 0, replicas: [2] },
            ],
          },
        ],
      },
      ctx,
    );
    expect(res!.errorCode).toBe(ErrorCode.NONE);
    expect(res!.responses[0]!.partitions.map((p) => [p.errorCode, p.errorMessage])).toEqual([
      [ErrorCode.NONE, null],
      [
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'The manual partition assignment includes broker 2, but no such broker is registered.',
      ],
    ]);
  });

  it('List forwards the filter and returns the ongoing reassignments by topic', async () => {
    const seen: { method: string; req: unknown }[] = [];
    const h = listPartitionReassignmentsHandler(
      services(),
      fakeClient(
        {
          error: 'NONE',
          reassignments: [
            {
              topic: 't',
              partition: 2,
              replicas: [3, 4, 1, 2],
              addingReplicas: [3, 4],
              removingReplicas: [1, 2],
            },
          ],
        },
        seen,
      ),
    );
    const res = await h.handle({ timeoutMs: 0, topics: [{ name: 't', partitionIndexes: [2] }] }, ctx);
    expect(seen[0]!.req).toEqual({
      allPartitions: false,
      topicPartitions: [{ topic: 't', partitions: [2] }],
    });
    expect(res!.topics).toEqual([
      {
        name: 't',
        partitions: [
          { partitionIndex: 2, replicas: [3, 4, 1, 2], addingReplicas: [3, 4], removingReplicas: [1, 2] },
        ],
      },
    ]);
    const all = await h.handle({ timeoutMs: 0, topics: null }, ctx);
    expect(all!.errorCode).toBe(0);
    expect(seen[1]!.req).toMatchObject({ allPartitions: true });
  });
});
