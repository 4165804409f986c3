/**
 * The gRPC control plane every broker serves (Controller and Admin services). Only the active
 * controller acts; other brokers answer NOT_CONTROLLER with the controller's id. Callers are
 * authenticated as ControlPlaneAuth says (TLS/mTLS credentials, a secret in the call metadata):
 * an unauthenticated call gets UNAUTHENTICATED and changes nothing.
 */
import type { AlterPartitionRequest } from '../partition-state-machine.js';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import { Controller, NotControllerError } from '../controller.js';
import { controlPlaneServices } from './proto.js';
import { OPEN_CONTROL_PLANE, type ControlPlaneAuth } from './control-plane-auth.js';

interface TopicPartitionsMessage {
  topic: string;
  partitions: number[];
}

interface ElectLeadersMessage {
  electionType: number;
  allPartitions: boolean;
  topicPartitions: TopicPartitionsMessage[];
}

function flatten(tps: TopicPartitionsMessage[]): { topic: string; partition: number }[] {
  return tps.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

function unary<Req, Res extends object>(
  controller: Controller,
  controllerId: () => number,
  log: Logger,
  auth: ControlPlaneAuth,
  fn: (req: Req) => Promise<Res> | Res,
): Unary<Req, Res> {
  return (call, cb) => {
    if (!auth.allows(call.metadata)) {
      log.warn({ peer: call.getPeer() }, 'refused an unauthenticated control-plane call');
      cb({ code: grpc.status.UNAUTHENTICATED, message: 'control-plane call without valid credentials' });
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => cb(null, { ...res, controllerId: controllerId() }),
        (err: unknown) => {
          if (err instanceof NotControllerError)
            return cb(null, {
              error: 'NOT_CONTROLLER',
              message: err.message,
              controllerId: err.controllerId,
            } as unknown as Res);
          log.error({ err }, 'control-plane request failed');
          cb({ code: grpc.status.INTERNAL, message: err instanceof Error ? err.message : String(err) });
        },
      );
  };
}

export class ControlPlaneServer {
  readonly #server = new grpc.Server();
  #port = 0;
  readonly #auth: ControlPlaneAuth;

  constructor(
    controller: Controller,
    controllerId: () => number,
    log: Logger,
    auth: ControlPlaneAuth = OPEN_CONTROL_PLANE,
  ) {
    this.#auth = auth;
    const { Controller: ControllerSvc, Admin } = controlPlaneServices();
    const u = <Req, Res extends object>(fn: (req: Req) => Promise<Res> | Res) =>
      unary<Req, Res>(controller, controllerId, log, auth, fn);
    this.#server.addService(ControllerSvc.service, {
      alterPartition: u(async (req: AlterPartitionRequest) => {
        const r = await controller.alterPartition(req);
        return { error: r.error, message: r.message, state: r.state ?? null };
      }),
      controlledShutdown: u(async (req: { brokerId: number }) => ({
        error: 'NONE',
        message: '',
        remainingPartitions: await controller.controlledShutdown(req.brokerId),
      })),
      electLeaders: u(async (req: ElectLeadersMessage) => ({
        error: 'NONE',
        message: '',
        results: await controller.electLeaders(
          req.electionType,
          req.allPartitions ? null : flatten(req.topicPartitions),
        ),
      })),
      alterPartitionReassignments: u(
        async (req: {
          reassignments: { topic: string; partition: number; cancel: boolean; replicas: number[] }[];
        }) => ({
          error: 'NONE',
          message: '',
          results: await controller.alterReassignments(
            req.reassignments.map((r) => ({
              topic: r.topic,
              partition: r.partition,
              replicas: r.cancel ? null : r.replicas,
            })),
          ),
        }),
      ),
      listPartitionReassignments: u(
        (req: { allPartitions: boolean; topicPartitions: TopicPartitionsMessage[] }) => ({
          error: 'NONE',
          message: '',
          reassignments: controller.listReassignments(
            req.allPartitions ? null : flatten(req.topicPartitions),
          ),
        }),
      ),
    });
    this.#server.addService(Admin.service, {
      describeClusterHealth: u(() => {
        if (!controller.isActive) throw new NotControllerError(controllerId());
        const h = controller.health();
        return {
          error: 'NONE',
          controllerEpoch: h.controllerEpoch,
          partitions: h.partitions,
          underReplicatedPartitions: h.underReplicated,
          underMinIsrPartitions: h.underMinIsr,
          offlinePartitions: h.offline,
          brokers: [],
        };
      }),
      safeToRestart: u((req: { brokerId: number }) => ({
        error: 'NONE',
        ...controller.safeToRestart(req.brokerId),
      })),
      drainBroker: u(async (req: { brokerId: number }) => {
        const remaining = await controller.controlledShutdown(req.brokerId);
        return {
          error: 'NONE',
          message:
            remaining.length === 0
              ? 'drained'
              : `${remaining.length} partition(s) have no other in-sync replica`,
          remainingPartitions: remaining,
        };
      }),
    });
  }

  get port(): number {
    return this.#port;
  }

  start(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(
        `${host.includes(':') ? `[${host}]` : host}:${port}`,
        this.#auth.serverCredentials(),
        (err, bound) => {
          if (err) return reject(err);
          this.#port = bound;
          resolve(bound);
        },
      );
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => this.#server.forceShutdown(), 3000);
      this.#server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
