/**
 * The operator's side of the controller's Admin gRPC service: is it safe to restart broker N
 * (no partition would fall below min.insync.replicas), cluster health, and drain (move every
 * leadership off a broker, a controlled shutdown without the shutdown). Every broker serves the
 * service; only the active controller answers, the others say NOT_CONTROLLER with its id, which
 * this client follows. Addresses come from a resolver so tests can point it at local brokers.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  callUnary,
  controlPlaneChannel,
  type AdminMethod,
  type RequestOf,
  type ResponseOf,
} from '../controller/grpc/methods.js';

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
      c = controlPlaneChannel(address);
      this.#clients.set(address, c);
    }
    return c;
  }

  #callOne<M extends AdminMethod>(address: string, method: M, req: RequestOf<M>): Promise<ResponseOf<M>> {
    return callUnary(this.#client(address), method, req, Date.now() + this.#callTimeoutMs);
  }

  /** Calls the active controller: the last one known first, then every broker, following NOT_CONTROLLER. */
  async #call<M extends AdminMethod>(method: M, req: RequestOf<M>): Promise<ResponseOf<M>> {
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
        // Every Admin response carries an error name and the controller's id.
        const status: { error: string; controllerId: number } = res;
        if (status.error === 'NOT_CONTROLLER') {
          const cid = status.controllerId;
          if (cid >= 0 && !tried.has(cid)) queue.unshift(cid);
          errors.push(`broker ${id}: not the controller (controller ${cid})`);
          continue;
        }
        this.#lastController = status.controllerId;
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
      controllerId: r.controllerId,
      partitions: r.partitions,
      underReplicatedPartitions: r.underReplicatedPartitions,
      underMinIsrPartitions: r.underMinIsrPartitions,
      offlinePartitions: r.offlinePartitions,
    };
  }

  async safeToRestart(brokerId: number): Promise<RestartVerdict> {
    const r = await this.#call('safeToRestart', { brokerId });
    return { safe: r.safe, reasons: r.reasons, controllerId: r.controllerId };
  }

  /** Moves leaderships off the broker; returns the partitions it still leads (no other ISR member). */
  async drain(brokerId: number): Promise<string[]> {
    const r = await this.#call('drainBroker', { brokerId });
    return r.remainingPartitions;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
