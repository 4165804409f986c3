/**
 * The control plane's unary methods by name, with their request and response types from the types
 * generated from the .proto (./generated). Callers name a method in camelCase (`alterPartition`);
 * its definition carries the path and the (de)serializers, so one plain grpc.Client per address
 * serves both services and every call is type-checked end to end.
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { AdminDefinition } from './generated/sluice/controller/v1/Admin.js';
import type { ControllerDefinition } from './generated/sluice/controller/v1/Controller.js';
import { controlPlaneServices } from './proto.js';

export type ControllerMethod =
  | 'alterPartition'
  | 'controlledShutdown'
  | 'electLeaders'
  | 'alterPartitionReassignments'
  | 'listPartitionReassignments'
  | 'createTopic'
  | 'deleteTopic'
  | 'createPartitions'
  | 'alterTopicConfigs'
  | 'alterBrokerConfigs'
  | 'createAcls'
  | 'deleteAcls'
  | 'alterClientQuotas'
  | 'alterUserScramCredentials';
export type AdminMethod = 'describeClusterHealth' | 'safeToRestart' | 'drainBroker';
export type Method = ControllerMethod | AdminMethod;

type Definition<M extends Method> = M extends ControllerMethod
  ? ControllerDefinition[Capitalize<M>]
  : M extends AdminMethod
    ? AdminDefinition[Capitalize<M>]
    : never;

type RequestTypes = {
  [M in Method]: Definition<M> extends MethodDefinition<infer Req, infer _Res, infer _ReqOut, infer _ResOut>
    ? Req
    : never;
};
type ResponseTypes = {
  [M in Method]: Definition<M> extends MethodDefinition<infer _Req, infer _Res, infer _ReqOut, infer ResOut>
    ? ResOut
    : never;
};

/** What a caller sends (fields optional, as protobuf defaults them). */
export type RequestOf<M extends Method> = RequestTypes[M];
/** What a caller gets back (every field present: the loader fills defaults); each has an error name. */
export type ResponseOf<M extends Method> = ResponseTypes[M];

interface UnaryDefinition<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

type Definitions = { [M in Method]: UnaryDefinition<RequestOf<M>, ResponseOf<M>> };

let definitions: Definitions | null = null;

function methodDefinitions(): Definitions {
  if (definitions) return definitions;
  const c = controlPlaneServices().Controller.service;
  const a = controlPlaneServices().Admin.service;
  definitions = {
    alterPartition: c.AlterPartition,
    controlledShutdown: c.ControlledShutdown,
    electLeaders: c.ElectLeaders,
    alterPartitionReassignments: c.AlterPartitionReassignments,
    listPartitionReassignments: c.ListPartitionReassignments,
    createTopic: c.CreateTopic,
    deleteTopic: c.DeleteTopic,
    createPartitions: c.CreatePartitions,
    alterTopicConfigs: c.AlterTopicConfigs,
    alterBrokerConfigs: c.AlterBrokerConfigs,
    createAcls: c.CreateAcls,
    deleteAcls: c.DeleteAcls,
    alterClientQuotas: c.AlterClientQuotas,
    alterUserScramCredentials: c.AlterUserScramCredentials,
    describeClusterHealth: a.DescribeClusterHealth,
    safeToRestart: a.SafeToRestart,
    drainBroker: a.DrainBroker,
  };
  return definitions;
}

/**
 * A channel to one broker's control plane; any method of either service goes through it.
 * `credentials`: what a secured control plane requires (ControlPlaneAuth), else plaintext.
 */
export function controlPlaneChannel(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client {
  return new grpc.Client(address, credentials);
}

/**
 * One unary call, as a promise; rejects with the grpc.ServiceError (UNAVAILABLE, DEADLINE_EXCEEDED,
 * UNAUTHENTICATED …). `metadata`: what the call carries (a secured control plane's secret).
 */
export function callUnary<M extends Method>(
  client: grpc.Client,
  method: M,
  request: RequestOf<M>,
  deadline: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<ResponseOf<M>> {
  const def: UnaryDefinition<RequestOf<M>, ResponseOf<M>> = methodDefinitions()[method];
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      metadata,
      { deadline },
      (err, res) =>
        err || res === undefined ? reject(err ?? new Error(`${method}: no response`)) : resolve(res),
    );
  });
}
