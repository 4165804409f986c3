/**
 * The metadata layout: which keys this layer owns (MetadataKeys.parse), and broker registrations in
 * both shapes (with named listeners, and from before them).
 */
import { describe, expect, it } from 'vitest';
import {
  decodeBrokerRegistration,
  encodeBrokerRegistration,
  endpointFor,
  MetadataKeys,
} from '../../src/controller/records.js';

describe('MetadataKeys', () => {
  const k = new MetadataKeys('/sluice/c1');

  it('classifies every key it makes', () => {
    expect(k.parse(k.cluster)).toEqual({ kind: 'cluster' });
    expect(k.parse(k.controller)).toEqual({ kind: 'controller' });
    expect(k.parse(k.broker(3))).toEqual({ kind: 'broker', id: 3 });
    expect(k.parse(k.topic('a.b'))).toEqual({ kind: 'topic', name: 'a.b' });
    expect(k.parse(k.partition('a.b', 12))).toEqual({ kind: 'partition', topic: 'a.b', index: 12 });
    expect(k.parse(k.brokerConfig(2))).toEqual({ kind: 'brokerConfig', id: 2 });
    expect(k.parse(k.brokerConfig('default'))).toEqual({ kind: 'brokerConfig', id: 'default' });
    expect(k.partitionsOf('t')).toBe('/sluice/c1/partitions/t/');
    expect([k.brokersPrefix, k.topicsPrefix, k.partitionsPrefix, k.brokerConfigsPrefix]).toEqual([
      '/sluice/c1/brokers/',
      '/sluice/c1/topics/',
      '/sluice/c1/partitions/',
      '/sluice/c1/configs/brokers/',
    ]);
  });

  it('leaves alone keys it does not own: other roots, other clusters, deeper or unknown paths', () => {
    for (const key of [
      '/sluice/c10/topics/a', // another cluster whose name starts the same
      '/sluice',
      '/sluice/c1',
      '/sluice/c1/cluster/x',
      '/sluice/c1/controller/x',
      '/sluice/c1/brokers/1/x',
      '/sluice/c1/topics',
      '/sluice/c1/partitions/a',
      '/sluice/c1/configs/topics/a',
      '/sluice/c1/configs/brokers/1/x',
      '/sluice/c1/producer-ids',
    ])
      expect(k.parse(key), key).toBeUndefined();
  });
});

describe('broker registrations', () => {
  const reg = {
    nodeId: 2,
    endpoints: [
      { name: 'INTERNAL', host: 'b2.internal', port: 9093, securityProtocol: 'PLAINTEXT' },
      { name: 'EXTERNAL', host: 'b2.example', port: 9092, securityProtocol: 'PLAINTEXT' },
    ],
    rack: 'r1',
    incarnationId: 'inc',
    controlPort: 7000,
  };

  it('repeat the inter-broker endpoint as host/port for brokers from before named listeners', () => {
    const doc = JSON.parse(encodeBrokerRegistration(reg, 'INTERNAL')) as Record<string, unknown>;
    expect(doc).toMatchObject({ host: 'b2.internal', port: 9093, controlPort: 7000 });
    expect(decodeBrokerRegistration(doc)).toEqual(reg);
    // An unknown listener name falls back to the first endpoint.
    expect(JSON.parse(encodeBrokerRegistration(reg, 'NOPE'))).toMatchObject({ host: 'b2.internal' });
    expect(endpointFor(reg, 'EXTERNAL')!.host).toBe('b2.example');
    expect(endpointFor(reg, 'REPLICATION')).toBeUndefined();
  });

  it('read a registration from before named listeners as one endpoint serving every listener name', () => {
    const old = decodeBrokerRegistration({ nodeId: 1, host: 'b1', port: 9092 });
    expect(old).toEqual({
      nodeId: 1,
      endpoints: [{ name: '', host: 'b1', port: 9092, securityProtocol: 'PLAINTEXT' }],
      rack: null,
      incarnationId: '',
    });
    expect(endpointFor(old, 'INTERNAL')).toEqual(old.endpoints[0]);
    expect(decodeBrokerRegistration({ nodeId: 4, endpoints: [] }).endpoints).toEqual([
      { name: '', host: '', port: -1, securityProtocol: 'PLAINTEXT' },
    ]);
  });
});
