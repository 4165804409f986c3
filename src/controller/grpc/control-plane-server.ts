/**
 * The gRPC control plane every broker serves (Controller and Admin services, typed by the types
 * generated from the .proto). Only the active controller acts; other brokers answer NOT_CONTROLLER
 * with the controller's id. Failures a client should see (validation of admin writes) are answers
 * with a Kafka error name and message; anything else is a gRPC INTERNAL error. Callers are
 * authenticated as ControlPlaneAuth says (TLS/mTLS credentials, a secret in the call metadata):
 * an unauthenticated call gets UNAUTHENTICATED and changes nothing.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import { type Controller, NotControllerError } from '../controller.js';
import { TopicOperationError } from '../topic-frontend.js';
import type { AdminHandlers } from './generated/sluice/controller/v1/Admin.js';
import type { ControllerHandlers } from './generated/sluice/controller/v1/Controller.js';
import type { TopicPartitions__Output } from './generated/sluice/controller/v1/TopicPartitions.js';
import type { Replicas__Output } from './generated/sluice/controller/v1/Replicas.js';
import type { TopicRecordMessage } from './generated/sluice/controller/v1/TopicRecordMessage.js';
import type { TopicRecord } from '../records.js';
import type { AclBinding } from '../../broker/security/acl.js';
import type { AclBindingMessage__Output } from './generated/sluice/controller/v1/AclBindingMessage.js';
import { controlPlaneServices } from './proto.js';
import { OPEN_CONTROL_PLANE, type ControlPlaneAuth } from './control-plane-auth.js';

function flatten(tps: TopicPartitions__Output[]): { topic: string; partition: number }[] {
  return tps.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

function replicasOf(rs: Replicas__Output[]): number[][] {
  return rs.map((r) => r.brokers);
}

function aclBinding(m: AclBindingMessage__Output): AclBinding {
  return {
    resourceType: m.resourceType,
    resourceName: m.resourceName,
    patternType: m.patternType,
    principal: m.principal,
    host: m.host,
    operation: m.operation,
    permissionType: m.permissionType,
  };
}

function topicMessage(t: TopicRecord): TopicRecordMessage {
  return {
    name: t.name,
    topicId: t.topicId,
    replicas: t.replicas.map((brokers) => ({ brokers })),
    configs: t.configs,
  };
}

/** The answer every method may give instead of its own: an error name (every response has these fields). */
interface ErrorAnswer {
  error: string;
  message: string;
  controllerId: number;
}

/**
 * A unary handler around `fn`. NotControllerError (this broker is not, or no longer, the
 * controller) and TopicOperationError (a Kafka error for the client) become answers; other
 * failures are logged and become gRPC INTERNAL (the caller tries again, or another broker) or, for
 * writes (`write`), an UNKNOWN_SERVER_ERROR answer: a write is not sent again blindly, and the
 * client hears at once, as it did when brokers wrote themselves.
 */
function unary<Req, Res extends object>(
  controllerId: () => number,
  log: Logger,
  auth: ControlPlaneAuth,
  fn: (req: Req) => Promise<Res> | Res,
  write = false,
): grpc.handleUnaryCall<Req, Res | ErrorAnswer> {
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
            });
          if (err instanceof TopicOperationError)
            return cb(null, { error: err.errorName, message: err.message, controllerId: controllerId() });
          log.error({ err }, 'control-plane request failed');
          const message = err instanceof Error ? err.message : String(err);
          if (write)
            return cb(null, { error: 'UNKNOWN_SERVER_ERROR', message, controllerId: controllerId() });
          cb({ code: grpc.status.INTERNAL, message });
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
      unary<Req, Res>(controllerId, log, auth, fn);
    const w = <Req, Res extends object>(fn: (req: Req) => Promise<Res> | Res) =>
      unary<Req, Res>(controllerId, log, auth, fn, true);
    const controllerHandlers: ControllerHandlers = {
      AlterPartition: u(async (req) => {
        const r = await controller.alterPartition(req);
        return { error: r.error, message: r.message, state: r.state ?? null };
      }),
      ControlledShutdown: u(async (req) => ({
        error: 'NONE',
        message: '',
        remainingPartitions: await controller.controlledShutdown(req.brokerId),
      })),
      ElectLeaders: u(async (req) => ({
        error: 'NONE',
        message: '',
        results: await controller.electLeaders(
          req.electionType,
          req.allPartitions ? null : flatten(req.topicPartitions),
        ),
      })),
      AlterPartitionReassignments: u(async (req) => ({
        error: 'NONE',
        message: '',
        results: await controller.alterReassignments(
          req.reassignments.map((r) => ({
            topic: r.topic,
            partition: r.partition,
            replicas: r.cancel ? null : r.replicas,
          })),
        ),
      })),
      ListPartitionReassignments: u((req) => ({
        error: 'NONE',
        message: '',
        reassignments: controller.listReassignments(req.allPartitions ? null : flatten(req.topicPartitions)),
      })),
      CreateTopic: w(async (req) => {
        const w = await controller.createTopic(
          {
            name: req.name,
            numPartitions: req.numPartitions,
            replicationFactor: req.replicationFactor,
            assignment: replicasOf(req.assignment),
            configs: Object.fromEntries(req.configs.map((c) => [c.name, c.value ?? null])),
          },
          { numPartitions: req.defaultNumPartitions, replicationFactor: req.defaultReplicationFactor },
          req.allowInternal,
        );
        return { error: 'NONE', message: '', topic: topicMessage(w.record), revision: w.revision };
      }),
      DeleteTopic: w(async (req) => {
        const revision = await controller.deleteTopic(req.name);
        return { error: 'NONE', message: '', revision };
      }),
      CreatePartitions: w(async (req) => {
        const revision = await controller.createPartitions(
          req.name,
          req.count,
          req.assignment.length > 0 ? replicasOf(req.assignment) : null,
          req.validateOnly,
        );
        return { error: 'NONE', message: '', revision };
      }),
      AlterTopicConfigs: w(async (req) => {
        const revision = await controller.alterTopicConfigs(req.name, req.configs, req.validateOnly);
        return { error: 'NONE', message: '', revision };
      }),
      AlterBrokerConfigs: w(async (req) => {
        const revision = await controller.alterBrokerConfigs(
          req.clusterDefault ? 'default' : req.brokerId,
          req.configs,
          req.validateOnly,
        );
        return { error: 'NONE', message: '', revision };
      }),
      CreateAcls: w(async (req) => {
        const r = await controller.createAcls(req.bindings.map(aclBinding));
        return {
          error: 'NONE',
          message: '',
          results: r.results.map((x) => ({
            error: x.error,
            ...(x.message === null ? {} : { message: x.message }),
          })),
          revision: r.revision,
        };
      }),
      DeleteAcls: w(async (req) => {
        const r = await controller.deleteAcls(
          req.filters.map((f) => ({
            resourceType: f.resourceType,
            resourceName: f.resourceName ?? null,
            patternType: f.patternType,
            principal: f.principal ?? null,
            host: f.host ?? null,
            operation: f.operation,
            permissionType: f.permissionType,
          })),
        );
        return {
          error: 'NONE',
          message: '',
          results: r.results.map((x) => ({
            error: x.error,
            ...(x.message === null ? {} : { message: x.message }),
            deleted: x.deleted,
          })),
          revision: r.revision,
        };
      }),
      AlterClientQuotas: w(async (req) => {
        const { results, revision } = await controller.alterClientQuotas(
          req.entries.map((a) => ({
            entity: a.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName ?? null })),
            ops: a.ops.map((o) => ({ key: o.key, value: o.value ?? null })),
          })),
          req.validateOnly,
        );
        return {
          error: 'NONE',
          message: '',
          revision,
          results: results.map((r) => ({
            entity: r.entity.map((e) =>
              e.entityName === null
                ? { entityType: e.entityType }
                : { entityType: e.entityType, entityName: e.entityName },
            ),
            error: r.error,
            message: r.message ?? '',
          })),
        };
      }),
      AlterUserScramCredentials: w(async (req) => {
        const { results, revision } = await controller.alterUserScramCredentials(
          req.deletions.map((d) => ({ name: d.name, mechanism: d.mechanism })),
          req.upsertions.map((u) => ({
            name: u.name,
            mechanism: u.mechanism,
            iterations: u.iterations,
            salt: u.salt,
            saltedPassword: u.saltedPassword,
          })),
        );
        return {
          error: 'NONE',
          message: '',
          revision,
          results: results.map((r) => ({
            user: r.user,
            errorCode: r.errorCode,
            ...(r.errorMessage === null ? {} : { errorMessage: r.errorMessage }),
          })),
        };
      }),
    };
    const adminHandlers: AdminHandlers = {
      DescribeClusterHealth: u(() => {
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
      SafeToRestart: u((req) => ({ error: 'NONE', ...controller.safeToRestart(req.brokerId) })),
      DrainBroker: u(async (req) => {
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
    };
    this.#server.addService(ControllerSvc.service, controllerHandlers);
    this.#server.addService(Admin.service, adminHandlers);
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
