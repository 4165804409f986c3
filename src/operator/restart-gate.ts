/**
 * The operator's side of the controller's Admin gRPC service: is it safe to restart broker N
 * (no partition would fall below min.insync.replicas), cluster health, and drain (move every
 * leadership off a broker, a controlled shutdown without the shutdown). Every broker serves the
 * service; only the active controller answers, the others say NOT_CONTROLLER with its id, which
 * this client follows. Addresses come from a resolver so tests can point it at local brokers.
 */
import * as grpc from '@grpc/grpc-js';
import { controlPlaneServices } from '../controller/grpc/proto.js';

/** broker id → "host:port" of its control-plane listener. */
export type ControlAddresses = () => Map<number, string>;

export interface ClusterHealth {
  controllerId: number;
  partitions: number;
  underReplicatedPartitions: number;
  underMinIsrPartitions: number;
  offlinePartitions: number;
}

export interface RestartVerdict {
  safe: boolean;
  reasons: string[];
  controllerId: number;
}

type Method = 'describeClusterHealth' | 'safeToRestart' | 'drainBroker';
type Unary = (
  req: object,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

export class RestartGate {
  readonly #addresses: ControlAddresses;
  readonly #clients = new Map<string, grpc.Client>();
  readonly #callTimeoutMs: number;
  #lastController = -1;

  constructor(addresses: ControlAddresses, callTimeoutMs = 5000) {
    this.#addresses = addresses;
    this.#callTimeoutMs = callTimeoutMs;
  }

  #client(address: string): grpc.Client {
    let c = this.#clients.get(address);
    if (!c) {
      c = new (controlPlaneServices().Admin)(address, grpc.credentials.createInsecure());
      this.#clients.set(address, c);
    }
    return c;
  }

  async #callOne(address: string, method: Method, req: object): Promise<Record<string, unknown>> {
    const client = this.#client(address) as unknown as Record<Method, Unary>;
    return new Promise((resolve, reject) =>
      client[method].call(client, req, { deadline: Date.now() + this.#callTimeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  /** Calls the active controller: the last one known first, then every broker, following NOT_CONTROLLER. */
  async #call(method: Method, req: object): Promise<Record<string, unknown>> {
    const addrs = this.#addresses();
    const order = [...addrs.keys()].sort((a, b) =>
      a === this.#lastController ? -1 : b === this.#lastController ? 1 : a - b,
    );
    const tried = new Set<number>();
    const errors: string[] = [];
    const queue = [...order];
    while (queue.length > 0) {
      const id = queue.shift()!;
      if (tried.has(id)) continue;
      tried.add(id);
      const address = addrs.get(id);
      if (!address) continue;
      try {
        const res = await this.#callOne(address, method, req);
        if (res.error === 'NOT_CONTROLLER') {
          const cid = Number(res.controllerId ?? -1);
          if (cid >= 0 && !tried.has(cid)) queue.unshift(cid);
          errors.push(`broker ${id}: not the controller (controller ${cid})`);
          continue;
        }
        this.#lastController = Number(res.controllerId ?? id);
        return res;
      } catch (err) {
        errors.push(`broker ${id} (${address}): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new Error(`no active controller answered ${method}: ${errors.join('; ') || 'no broker addresses'}`);
  }

  async health(): Promise<ClusterHealth> {
    const r = await this.#call('describeClusterHealth', {});
    return {
      controllerId: Number(r.controllerId ?? -1),
      partitions: Number(r.partitions ?? 0),
      underReplicatedPartitions: Number(r.underReplicatedPartitions ?? 0),
      underMinIsrPartitions: Number(r.underMinIsrPartitions ?? 0),
      offlinePartitions: Number(r.offlinePartitions ?? 0),
    };
  }

  async safeToRestart(brokerId: number): Promise<RestartVerdict> {
    const r = await this.#call('safeToRestart', { brokerId });
    return {
      safe: r.safe === true,
      reasons: (r.reasons as string[] | undefined) ?? [],
      controllerId: Number(r.controllerId ?? -1),
    };
  }

  /** Moves leaderships off the broker; returns the partitions it still leads (no other ISR member). */
  async drain(brokerId: number): Promise<string[]> {
    const r = await this.#call('drainBroker', { brokerId });
    return (r.remainingPartitions as string[] | undefined) ?? [];
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
