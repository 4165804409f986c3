/**
 * Calls the active controller's control plane, wherever it is: finds it in the metadata table,
 * follows NOT_CONTROLLER, and retries unavailability with backoff until the deadline.
 */
import type * as grpc from '@grpc/grpc-js';
import type { MetadataTable } from '../metadata-table.js';
import { endpointFor } from '../records.js';
import { callUnary, controlPlaneChannel, type Method, type RequestOf, type ResponseOf } from './methods.js';
import { OPEN_CONTROL_PLANE, type ControlPlaneAuth } from './control-plane-auth.js';

export type { Method } from './methods.js';

export interface CallOptions {
  /** Give up after this long (default 15 s): the call throws with the last failure. */
  timeoutMs?: number;
  /**
   * The deadline of one attempt (default 5 s). An attempt that times out may still have been
   * carried out, and is tried again; writes that must not run twice give the whole timeout here.
   */
  attemptTimeoutMs?: number;
}

export class ControlPlaneClient {
  readonly #table: MetadataTable;
  /** One channel per controller address; any method of either service goes through it. */
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

  #client(address: string): grpc.Client {
    let c = this.#clients.get(address);
    if (!c) {
      c = controlPlaneChannel(address, this.#auth.channelCredentials());
      this.#clients.set(address, c);
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

  /**
   * Call `method` on the active controller, retrying until the timeout passes (a number is the
   * timeout in ms). NOT_CONTROLLER answers and failed attempts are retried against the controller
   * the table names then; any other answer, an error name included, is returned.
   */
  async call<M extends Method>(
    method: M,
    request: RequestOf<M>,
    options: number | CallOptions = {},
  ): Promise<ResponseOf<M>> {
    const o = typeof options === 'number' ? { timeoutMs: options } : options;
    const deadline = Date.now() + (o.timeoutMs ?? 15_000);
    const attemptMs = o.attemptTimeoutMs ?? 5000;
    let delay = 50;
    let last = 'no active controller';
    while (Date.now() < deadline) {
      const address = this.#controllerAddress();
      if (address) {
        try {
          const res: ResponseOf<M> = await callUnary(
            this.#client(address),
            method,
            request,
            Math.min(deadline, Date.now() + attemptMs),
            this.#auth.callMetadata(),
          );
          // Every response carries an error name.
          const status: { error: string } = res;
          if (status.error !== 'NOT_CONTROLLER') return res;
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
