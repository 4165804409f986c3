/**
 * A local Sluice cluster laid out the way the operator sees one in Kubernetes: brokers with node
 * ids 0..N-1 (a StatefulSet's ordinals), each with a fixed loopback control-plane port, on a real
 * etcd. The operator reaches it through `endpoints` instead of in-cluster DNS.
 */
import type { ClusterEndpoints } from '../../src/operator/cluster-reconciler.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { FAST_CLUSTER_OVERRIDES } from '../helpers/cluster.js';
import { EtcdProcess, freePort } from '../helpers/etcd.js';

export class LocalSluiceCluster {
  readonly etcd = new EtcdProcess();
  readonly brokers: BrokerProcess[] = [];
  readonly controlPorts: number[] = [];
  readonly clusterId = `op-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    readonly size = 3,
    readonly overrides: Record<string, string> = {},
  ) {}

  async start(): Promise<this> {
    await this.etcd.start();
    for (let id = 0; id < this.size; id++) {
      const control = await freePort();
      this.controlPorts.push(control);
      this.brokers.push(
        new BrokerProcess({
          nodeId: id,
          logLevel: 'info',
          overrides: {
            ...FAST_CLUSTER_OVERRIDES,
            'offsets.topic.replication.factor': String(Math.min(3, this.size)),
            ...this.overrides,
          },
          extraArgs: [
            '--etcd',
            this.etcd.endpoint,
            '--cluster-id',
            this.clusterId,
            '--control-listen',
            `127.0.0.1:${control}`,
          ],
        }),
      );
    }
    await Promise.all(this.brokers.map((b) => b.start()));
    return this;
  }

  get bootstrap(): string {
    return this.brokers
      .filter((b) => b.alive)
      .map((b) => b.bootstrap)
      .join(',');
  }

  get endpoints(): ClusterEndpoints {
    return {
      bootstrap: () => this.bootstrap,
      control: () => new Map(this.controlPorts.map((p, id) => [id, `127.0.0.1:${p}`])),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.cleanup()));
    await this.etcd.stop();
  }
}
