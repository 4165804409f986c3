/**
 * The one table from internal errors to Kafka error codes (as Redpanda's errors.h and kafkajs'
 * error table do). Every layer throws its own named errors (src/protocol/records/errors.ts,
 * src/storage/errors.ts, src/broker/errors.ts, the controller's frontends); whenever the broker
 * turns an exception into a code for a response, it asks `errorCodeOf`, so one error means one
 * code everywhere. A class maps either to a fixed Kafka error name, or, for errors that carry
 * their Kafka error as data (KafkaError, the record validation errors, TopicOperationError), to
 * what they carry.
 *
 * test/broker/errors.test.ts finds every error class exported under src/ (outside the operator,
 * which is a client) and fails when one has no row here.
 */
import {
  ErrorCode,
  KafkaError,
  errorByName,
  type ErrorCodeValue,
  type ErrorName,
} from '../protocol/error-codes.js';
import { DecodeError, EncodeError } from '../protocol/primitives.js';
import { FrameError } from '../protocol/frame-decoder.js';
import {
  CorruptRecordError,
  DecompressionLimitError,
  InvalidRecordError,
  RecordValidationError,
} from '../protocol/records/errors.js';
import {
  KafkaStorageError,
  LogClosedError,
  LogDirError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  StorageError,
  UnexpectedAppendOffsetError,
} from '../storage/errors.js';
import { CorruptIndexError } from '../storage/abstract-index.js';
import { CorruptCheckpointError } from '../storage/checkpoint-file.js';
import { PartitionMetadataError } from '../storage/partition-metadata-file.js';
import { CorruptSnapshotError } from '../storage/producer-snapshot-file.js';
import { LogCleaningAbortedError } from '../storage/cleaner.js';
import { SwapRefusedError } from '../storage/unified-log.js';
import { FeatureUpdateError } from '../controller/features.js';
import { InvalidConfigError } from '../common/config-def.js';
import { AssignmentError, TopicOperationError } from '../controller/topic-frontend.js';
import { NotControllerError } from '../controller/controller.js';
import { MetadataStoreError } from '../controller/metadata-store.js';
import {
  ClientClosedError,
  ConnectionError,
  KafkaClientError,
  MalformedResponseError,
  RequestTimeoutError,
  ResponseError,
  UnsupportedVersionError,
} from '../client/errors.js';
import { IllegalStateTransition } from './group/group-metadata.js';
import { AuthenticationError } from './security/client-security.js';
import { JaasConfigError } from './security/jaas.js';
import { SaslFailure } from './security/sasl-mechanism.js';
import { InvalidRuleError, NoMatchingRuleError } from './security/ssl-principal-mapper.js';
import { ClientCertificateError } from './security/tls-listener.js';
import { DerError } from './security/x500-name.js';
import {
  BrokerError,
  FencedLeaderEpochError,
  InvalidProducerEpochError,
  InvalidProducerIdMappingError,
  InvalidRequestError,
  InvalidTxnStateError,
  NotEnoughReplicasError,
  NotLeaderOrFollowerError,
  OutOfOrderSequenceError,
  PolicyViolationError,
  TransactionCoordinatorFencedError,
  UnknownLeaderEpochError,
  UnknownTopicOrPartitionError,
} from './errors.js';

/** A Kafka error name, or how to read the code from an error that carries its own. */
type Mapping<E> = ErrorName | ((err: E) => ErrorCodeValue);

/** An error class, whatever its constructor takes. */
export type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;

/** A carried name that is not a Kafka error (a bug) answers UNKNOWN_SERVER_ERROR rather than throwing. */
function byName(name: string): ErrorCodeValue {
  return (errorByName(name)?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR) as ErrorCodeValue;
}

const TABLE = new Map<ErrorClass, Mapping<never>>();

function row<E extends Error>(cls: ErrorClass<E>, mapping: Mapping<E>): void {
  TABLE.set(cls, mapping as Mapping<never>);
}

// ---- protocol: errors that already are, or carry, a Kafka error ----
row(KafkaError, (e) => e.code);
row(RecordValidationError, (e) => byName(e.errorName));
row(CorruptRecordError, 'CORRUPT_MESSAGE');
row(InvalidRecordError, (e) => byName(e.errorName));
row(DecompressionLimitError, 'MESSAGE_TOO_LARGE');
// Bytes that do not decode: KafkaApis closes the connection before a handler sees them.
row(DecodeError, 'INVALID_REQUEST');
row(FrameError, 'INVALID_REQUEST');
// A message this broker cannot encode at the version asked: a bug on our side.
row(EncodeError, 'UNKNOWN_SERVER_ERROR');

// ---- storage ----
row(StorageError, 'KAFKA_STORAGE_ERROR');
row(OffsetOutOfRangeError, 'OFFSET_OUT_OF_RANGE');
row(KafkaStorageError, 'KAFKA_STORAGE_ERROR');
row(LogDirError, 'KAFKA_STORAGE_ERROR');
row(CorruptIndexError, 'KAFKA_STORAGE_ERROR');
row(CorruptCheckpointError, 'KAFKA_STORAGE_ERROR');
row(PartitionMetadataError, 'KAFKA_STORAGE_ERROR');
row(CorruptSnapshotError, 'KAFKA_STORAGE_ERROR');
// UpdateFeatures refused by Kafka's rules (FeatureControlManager).
row(FeatureUpdateError, 'INVALID_UPDATE_VERSION');
row(RecordTooLargeError, 'MESSAGE_TOO_LARGE');
// Internal to replication (the fetcher truncates); a client never causes it.
row(UnexpectedAppendOffsetError, 'UNKNOWN_SERVER_ERROR');
// The partition was deleted or moved away (or the broker is stopping) under the request: the client
// refreshes its metadata and finds the partition where it is now.
row(LogClosedError, 'NOT_LEADER_OR_FOLLOWER');

// ---- security (src/broker/security) ----
// A SASL exchange the broker refuses: SaslAuthenticate answers this, then the connection closes.
row(SaslFailure, 'SASL_AUTHENTICATION_FAILED');
// The broker's own login to another broker (inter-broker SASL) was refused.
row(AuthenticationError, 'SASL_AUTHENTICATION_FAILED');
// A client certificate that fails (untrusted, no subject that decodes, no mapping rule matching):
// the TLS connection is closed, as Kafka's SslAuthenticationException closes it; Kafka has no code
// of its own for it, so the table names the authentication failure.
row(ClientCertificateError, 'SASL_AUTHENTICATION_FAILED');
row(DerError, 'SASL_AUTHENTICATION_FAILED');
row(NoMatchingRuleError, 'SASL_AUTHENTICATION_FAILED');
// sasl.jaas.config and ssl.principal.mapping.rules that do not parse.
row(JaasConfigError, 'INVALID_CONFIG');
row(InvalidRuleError, 'INVALID_CONFIG');

// ---- configs and metadata ----
row(InvalidConfigError, 'INVALID_CONFIG');
row(TopicOperationError, (e) => byName(e.errorName));
row(AssignmentError, 'INVALID_REPLICA_ASSIGNMENT');
row(NotControllerError, 'NOT_CONTROLLER');
// The metadata store (etcd) failed or timed out.
row(MetadataStoreError, 'UNKNOWN_SERVER_ERROR');

// ---- broker ----
row(BrokerError, 'UNKNOWN_SERVER_ERROR');
row(UnknownTopicOrPartitionError, 'UNKNOWN_TOPIC_OR_PARTITION');
row(NotLeaderOrFollowerError, 'NOT_LEADER_OR_FOLLOWER');
row(FencedLeaderEpochError, 'FENCED_LEADER_EPOCH');
row(UnknownLeaderEpochError, 'UNKNOWN_LEADER_EPOCH');
row(NotEnoughReplicasError, 'NOT_ENOUGH_REPLICAS');
row(OutOfOrderSequenceError, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
row(InvalidProducerEpochError, 'INVALID_PRODUCER_EPOCH');
row(InvalidTxnStateError, 'INVALID_TXN_STATE');
row(TransactionCoordinatorFencedError, 'TRANSACTION_COORDINATOR_FENCED');
row(InvalidProducerIdMappingError, 'INVALID_PRODUCER_ID_MAPPING');
row(InvalidRequestError, 'INVALID_REQUEST');
row(PolicyViolationError, 'POLICY_VIOLATION');
// Inter-broker requests (the replica fetcher's); never answered to a client.
// The project's Kafka client (inter-broker calls): each error carries the Kafka code it stands for.
for (const cls of [
  KafkaClientError,
  ConnectionError,
  RequestTimeoutError,
  UnsupportedVersionError,
  ClientClosedError,
  ResponseError,
  MalformedResponseError,
])
  row(cls, (e) => (e as KafkaClientError).code as ErrorCodeValue);
// The log cleaner's own control flow (an aborted job, a refused swap): handled by the cleaner, never
// answered to a client; if one ever escaped to a handler it would be a bug.
row(LogCleaningAbortedError, 'UNKNOWN_SERVER_ERROR');
row(SwapRefusedError, 'UNKNOWN_SERVER_ERROR');
// The group state machine refused a transition: a coordinator bug (Kafka's IllegalStateException).
row(IllegalStateTransition, 'UNKNOWN_SERVER_ERROR');

/** Is there a row for exactly this class (not inherited)? */
export function hasErrorMapping(cls: ErrorClass): boolean {
  return TABLE.has(cls);
}

/** Every class with a row (tests). */
export function mappedErrorClasses(): ErrorClass[] {
  return [...TABLE.keys()];
}

/**
 * The Kafka error code to answer with for any thrown value: the row of its class, else of the
 * nearest ancestor with one; UNKNOWN_SERVER_ERROR for anything else (plain Errors, non-errors).
 */
export function errorCodeOf(err: unknown): ErrorCodeValue {
  if (!(err instanceof Error)) return ErrorCode.UNKNOWN_SERVER_ERROR;
  for (
    let c: unknown = err.constructor;
    typeof c === 'function' && c !== Error;
    c = Object.getPrototypeOf(c)
  ) {
    const m = TABLE.get(c as ErrorClass);
    if (m === undefined) continue;
    return typeof m === 'string' ? byName(m) : (m as (e: Error) => ErrorCodeValue)(err);
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Is `err` one of the typed internal errors (has a row), as opposed to an unexpected failure? */
export function isMappedError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  for (let c: unknown = err.constructor; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c))
    if (TABLE.has(c as ErrorClass)) return true;
  return false;
}
