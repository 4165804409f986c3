/** Named listeners resolved from the four Kafka keys, and broker registrations old and new. */
import { describe, expect, it } from 'vitest';
import { BrokerConfig } from '../../src/common/broker-config.js';
import {
  decodeBrokerRegistration,
  encodeBrokerRegistration,
  endpointFor,
} from '../../src/controller/records.js';

describe('listeners', () => {
  it('defaults to one PLAINTEXT listener on 127.0.0.1:9092, which is also the inter-broker one', () => {
    expect(new BrokerConfig().listeners).toEqual({
      listeners: [
        {
          name: 'PLAINTEXT',
          securityProtocol: 'PLAINTEXT',
          host: '127.0.0.1',
          port: 9092,
          advertisedHost: '127.0.0.1',
          advertisedPort: 9092,
        },
      ],
      interBrokerListenerName: 'PLAINTEXT',
    });
  });

  it('advertises per name, defaults the rest to their own address, and upper-cases names', () => {
    const c = new BrokerConfig({
      listeners: 'internal://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094,REPLICATION-9091://[::1]:9091',
      'advertised.listeners': 'INTERNAL://b0.svc:9092,external://1.2.3.4:31000,REPLICATION-9091://[::1]:9091',
      'listener.security.protocol.map':
        'INTERNAL:PLAINTEXT,EXTERNAL:plaintext,REPLICATION-9091:PLAINTEXT,OTHER:SSL',
      'inter.broker.listener.name': 'replication-9091',
    });
    const l = c.listeners;
    expect(l.interBrokerListenerName).toBe('REPLICATION-9091');
    expect(l.listeners.map((x) => [x.name, x.host, x.port, x.advertisedHost, x.advertisedPort])).toEqual([
      ['INTERNAL', '0.0.0.0', 9092, 'b0.svc', 9092],
      ['EXTERNAL', '0.0.0.0', 9094, '1.2.3.4', 31000],
      ['REPLICATION-9091', '::1', 9091, '::1', 9091],
    ]);
  });

  it('allows port 0 more than once (each binds a free port)', () => {
    const c = new BrokerConfig({
      listeners: 'A://127.0.0.1:0,B://127.0.0.2:0',
      'listener.security.protocol.map': 'A:PLAINTEXT,B:PLAINTEXT',
    });
    expect(c.listeners.listeners.map((x) => x.advertisedPort)).toEqual([0, 0]);
  });
});

describe('broker registrations', () => {
  const reg = {
    nodeId: 2,
    endpoints: [
      { name: 'INTERNAL', host: 'b2.svc', port: 9092, securityProtocol: 'PLAINTEXT' },
      { name: 'EXTERNAL', host: '1.2.3.4', port: 31002, securityProtocol: 'PLAINTEXT' },
    ],
    rack: null,
    incarnationId: 'x',
    controlPort: 9091,
  };

  it('round-trips, with host/port of the inter-broker listener for brokers before named listeners', () => {
    const doc = JSON.parse(encodeBrokerRegistration(reg, 'INTERNAL')) as Record<string, unknown>;
    expect(doc.host).toBe('b2.svc');
    expect(doc.port).toBe(9092);
    expect(decodeBrokerRegistration(doc)).toEqual(reg);
    expect(endpointFor(reg, 'EXTERNAL')?.port).toBe(31002);
    expect(endpointFor(reg, 'OTHER')).toBeUndefined();
  });

  it('reads a registration written before named listeners as one endpoint serving every name', () => {
    const old = decodeBrokerRegistration({
      nodeId: 1,
      host: 'h',
      port: 9092,
      rack: 'r',
      incarnationId: 'i',
      controlPort: 1,
    });
    expect(endpointFor(old, 'INTERNAL')).toMatchObject({ host: 'h', port: 9092 });
    expect(endpointFor(old, 'EXTERNAL')).toMatchObject({ host: 'h', port: 9092 });
  });
});
