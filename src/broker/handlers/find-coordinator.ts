/**
 * FindCoordinator (key 10), versions 0-4 (v4+ batches keys). Group keys: creates __consumer_offsets
 * on first use and answers with the leader of the group's partition. Transaction keys: creates
 * __transaction_state on first use and answers with the leader of the transactional id's partition
 * (abs(javaHashCode(id)) % partitions). The coordinator's address is its endpoint for the listener
 * the request arrived on; a coordinator without that listener, or a partition with no leader, is
 * COORDINATOR_NOT_AVAILABLE (Kafka's rule).
 */
import {
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../protocol/messages/find-coordinator.js';
import { ErrorCode, errorByCode } from '../../protocol/error-codes.js';
import { endpointFor } from '../../controller/records.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler, type RequestContext } from './api-handler.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

type Found = {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
};

export function findCoordinatorHandler(b: BrokerServices) {
  const find = async (
    ctx: RequestContext,
    key: string,
    keyType: number,
    listener: string,
  ): Promise<Found> => {
    const fail = (errorCode: number, errorMessage: string | null = null): Found => ({
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode,
      errorMessage,
    });
    if (keyType !== GROUP_KEY && keyType !== TRANSACTION_KEY)
      return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}`);
    if (keyType === GROUP_KEY && key === '')
      return fail(ErrorCode.INVALID_REQUEST, 'The group id must not be empty');
    // Kafka: DESCRIBE on the group or the transactional id.
    if (keyType === GROUP_KEY && !b.auth.authorize(ctx, 'DESCRIBE', 'GROUP', key))
      return fail(
        ErrorCode.GROUP_AUTHORIZATION_FAILED,
        errorByCode(ErrorCode.GROUP_AUTHORIZATION_FAILED)!.message,
      );
    if (keyType === TRANSACTION_KEY && !b.auth.authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', key))
      return fail(
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        errorByCode(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)!.message,
      );
    const manager = keyType === GROUP_KEY ? b.groupMetadataManager : b.txnCoordinator.stateManager;
    try {
      await manager.ensureTopic();
      await manager.settled();
    } catch (err) {
      b.log.warn({ err, keyType }, 'could not create the coordinator topic');
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, err instanceof Error ? err.message : null);
    }
    const leader = manager.leaderFor(key);
    const broker = b.table.brokers.get(leader);
    const ep = broker ? endpointFor(broker, listener) : undefined;
    if (!broker || !ep) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return {
      key,
      nodeId: broker.nodeId,
      host: ep.host,
      port: ep.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  };

  return defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
    apiKey: 10,
    name: 'FindCoordinator',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeFindCoordinatorRequest,
    encode: encodeFindCoordinatorResponse,
    async handle(req, ctx) {
      const keyType = req.keyType ?? GROUP_KEY;
      if (ctx.apiVersion >= 4) {
        const coordinators = [];
        for (const key of req.coordinatorKeys ?? [])
          coordinators.push(await find(ctx, key, keyType, ctx.connection.listenerName));
        return { throttleTimeMs: 0, coordinators };
      }
      const f = await find(ctx, req.key ?? '', keyType, ctx.connection.listenerName);
      return {
        throttleTimeMs: 0,
        errorCode: f.errorCode,
        errorMessage: f.errorMessage,
        nodeId: f.nodeId,
        host: f.host,
        port: f.port,
      };
    },
  });
}
