/**
 * Calls the active controller's control plane, wherever it is: finds it in the metadata table,
 * follows NOT_CONTROLLER, and retries unavailability with backoff until the deadline.
 */
import * as grpc from '@grpc/grpc-js';
import type { MetadataTable } from '../metadata-table.js';
import { endpointFor } from '../records.js';
import { controlPlaneServices } from './proto.js';
import { OPEN_CONTROL_PLANE, type ControlPlaneAuth } from './control-plane-auth.js';

type Method =
  | 'alterPartition'
  | 'controlledShutdown'
  | 'electLeaders'
  | 'alterPartitionReassignments'
  | 'listPartitionReassignments'
  | 'describeClusterHealth'
  | 'safeToRestart'
  | 'drainBroker';
const SERVICE: Record<Method, 'Controller' | 'Admin'> = {
  alterPartition: 'Controller',
  controlledShutdown: 'Controller',
  electLeaders: 'Controller',
  alterPartitionReassignments: 'Controller',
  listPartitionReassignments: 'Controller',
  describeClusterHealth: 'Admin',
  safeToRestart: 'Admin',
  drainBroker: 'Admin',
};

export class ControlPlaneClient {
  readonly #table: MetadataTable;
  readonly #clients = new Map<string, grpc.Client>();

  readonly #listener: string;
  readonly #auth: ControlPlaneAuth;

  /**
   * `listener`: this broker's inter.broker.listener.name; the controller is reached on its host.
   * `auth`: the channel credentials and call metadata the control plane requires.
   */
  constructor(table: MetadataTable, listener: string, auth: ControlPlaneAuth = OPEN_CONTROL_PLANE) {
    this.#table = table;
    this.#listener = listener;
    this.#auth = auth;
  }

  #client(service: 'Controller' | 'Admin', address: string): grpc.Client {
    const key = `${service}@${address}`;
    let c = this.#clients.get(key);
    if (!c) {
      const svc = controlPlaneServices()[service];
      c = new svc(address, this.#auth.channelCredentials());
      this.#clients.set(key, c);
    }
    return c;
  }

  #controllerAddress(): string | null {
    const c = this.#table.controller;
    if (!c) return null;
    const b = this.#table.brokers.get(c.nodeId);
    const ep = b ? endpointFor(b, this.#listener) : undefined;
    if (!b || !ep || !b.controlPort) return null;
    return `${ep.host}:${b.controlPort}`;
  }

  /** Call `method` on the active controller, retrying until `timeoutMs` passes. */
  async call<Res extends { error?: string }>(
    method: Method,
    request: object,
    timeoutMs = 15_000,
  ): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    let last = 'no active controller';
    while (Date.now() < deadline) {
      const address = this.#controllerAddress();
      if (address) {
        try {
          const client = this.#client(SERVICE[method], address) as unknown as Record<
            Method,
            (
              req: object,
              metadata: grpc.Metadata,
              opts: grpc.CallOptions,
              cb: (err: grpc.ServiceError | null, res: Res) => void,
            ) => void
          >;
          const res = await new Promise<Res>((resolve, reject) =>
            client[method].call(
              client,
              request,
              this.#auth.callMetadata() ?? new grpc.Metadata(),
              { deadline: Math.min(deadline, Date.now() + 5000) },
              (err, r) => (err ? reject(err) : resolve(r)),
            ),
          );
          if (res.error !== 'NOT_CONTROLLER') return res;
          last = `controller at ${address} says it is not the controller`;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
    throw new Error(`control plane ${method} failed: ${last}`);
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
