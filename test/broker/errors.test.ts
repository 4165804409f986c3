/**
 * The one error table (src/broker/error-mapping.ts): every error class exported by the broker's
 * layers (protocol, storage, broker, controller, common; not the operator, which is a client) has its
 * own row, and a sample of each walks through the table to the Kafka code a client must see. A new
 * error class without a row fails the first test; one without a sample here fails the second.
 */
import { LogCleaningAbortedError } from '../../src/storage/cleaner.js';
import { SwapRefusedError } from '../../src/storage/unified-log.js';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCodeOf, hasErrorMapping, isMappedError } from '../../src/broker/error-mapping.js';
import { ErrorCode, KafkaError, errorName } from '../../src/protocol/error-codes.js';
import { DecodeError, EncodeError } from '../../src/protocol/primitives.js';
import { FrameError } from '../../src/protocol/frame-decoder.js';
import {
  CorruptRecordError,
  DecompressionLimitError,
  InvalidRecordError,
  RecordValidationError,
} from '../../src/protocol/records/errors.js';
import {
  KafkaStorageError,
  LogClosedError,
  LogDirError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  StorageError,
  UnexpectedAppendOffsetError,
} from '../../src/storage/errors.js';
import { CorruptIndexError } from '../../src/storage/abstract-index.js';
import { CorruptCheckpointError } from '../../src/storage/checkpoint-file.js';
import { PartitionMetadataError } from '../../src/storage/partition-metadata-file.js';
import { CorruptSnapshotError } from '../../src/storage/producer-snapshot-file.js';
import { FeatureUpdateError } from '../../src/controller/features.js';
import { InvalidConfigError } from '../../src/common/config-def.js';
import { AssignmentError, TopicOperationError } from '../../src/controller/topic-frontend.js';
import { NotControllerError } from '../../src/controller/controller.js';
import { MetadataStoreError } from '../../src/controller/metadata-store.js';
import {
  ClientClosedError,
  ConnectionError,
  KafkaClientError,
  MalformedResponseError,
  RequestTimeoutError,
  ResponseError,
  UnsupportedVersionError,
} from '../../src/client/errors.js';
import { IllegalStateTransition } from '../../src/broker/group/group-metadata.js';
import { AuthenticationError } from '../../src/broker/security/client-security.js';
import { JaasConfigError } from '../../src/broker/security/jaas.js';
import { SaslFailure } from '../../src/broker/security/sasl-mechanism.js';
import { InvalidRuleError, NoMatchingRuleError } from '../../src/broker/security/ssl-principal-mapper.js';
import { ClientCertificateError } from '../../src/broker/security/tls-listener.js';
import { DerError } from '../../src/broker/security/x500-name.js';
import {
  BrokerError,
  FencedLeaderEpochError,
  InvalidProducerEpochError,
  PolicyViolationError,
  InvalidTxnStateError,
  TransactionCoordinatorFencedError,
  InvalidProducerIdMappingError,
  InvalidRequestError,
  NotEnoughReplicasError,
  NotLeaderOrFollowerError,
  OutOfOrderSequenceError,
  UnknownLeaderEpochError,
  UnknownTopicOrPartitionError,
} from '../../src/broker/errors.js';

const SRC = resolve(import.meta.dirname, '../../src');
const AREAS = ['protocol', 'storage', 'broker', 'controller', 'common', 'client'];

type AnyErrorClass = abstract new (...args: never[]) => Error;

/** Every class extending Error exported by a module of the areas (generated codecs excepted). */
async function exportedErrorClasses(): Promise<Map<AnyErrorClass, string>> {
  const found = new Map<AnyErrorClass, string>();
  for (const area of AREAS) {
    const files = readdirSync(join(SRC, area), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => join(SRC, area, f))
      .filter((f) => !f.includes(`${join('protocol', 'messages')}`))
      // Worker-thread entry points (the log cleaner's) refuse to load on the main thread; the error
      // classes they use live in the modules they import.
      .filter((f) => !f.endsWith('-worker.ts'));
    for (const file of files) {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v === 'function' && v.prototype instanceof Error)
          found.set(v as AnyErrorClass, `${relative(SRC, file)}: ${name}`);
      }
    }
  }
  return found;
}

// Abstract bases are walked with an instance of a subclass that has no row of its own.
class SomeRecordError extends RecordValidationError {
  readonly errorName = 'UNSUPPORTED_COMPRESSION_TYPE' as const;
}
class SomeStorageError extends StorageError {}
class SomeBrokerError extends BrokerError {}

/** [class, an instance, the code a client sees]. */
const SAMPLES: [AnyErrorClass, Error, number][] = [
  [KafkaError, new KafkaError('REQUEST_TIMED_OUT'), ErrorCode.REQUEST_TIMED_OUT],
  [RecordValidationError, new SomeRecordError('codec'), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
  [CorruptRecordError, new CorruptRecordError('crc'), ErrorCode.CORRUPT_MESSAGE],
  [InvalidRecordError, new InvalidRecordError('INVALID_TIMESTAMP', 'ts'), ErrorCode.INVALID_TIMESTAMP],
  [DecompressionLimitError, new DecompressionLimitError(10, 20, 'gzip'), ErrorCode.MESSAGE_TOO_LARGE],
  [DecodeError, new DecodeError('short'), ErrorCode.INVALID_REQUEST],
  [FrameError, new FrameError('too-large', 1 << 30, 1 << 20), ErrorCode.INVALID_REQUEST],
  [EncodeError, new EncodeError('field'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [StorageError, new SomeStorageError('disk'), ErrorCode.KAFKA_STORAGE_ERROR],
  [OffsetOutOfRangeError, new OffsetOutOfRangeError(9n, 0n, 3n), ErrorCode.OFFSET_OUT_OF_RANGE],
  [KafkaStorageError, new KafkaStorageError('EIO'), ErrorCode.KAFKA_STORAGE_ERROR],
  [LogDirError, new LogDirError('no dir'), ErrorCode.KAFKA_STORAGE_ERROR],
  [CorruptIndexError, new CorruptIndexError('index'), ErrorCode.KAFKA_STORAGE_ERROR],
  [CorruptCheckpointError, new CorruptCheckpointError('checkpoint'), ErrorCode.KAFKA_STORAGE_ERROR],
  [PartitionMetadataError, new PartitionMetadataError('partition.metadata'), ErrorCode.KAFKA_STORAGE_ERROR],
  [CorruptSnapshotError, new CorruptSnapshotError('snapshot'), ErrorCode.KAFKA_STORAGE_ERROR],
  [FeatureUpdateError, new FeatureUpdateError('downgrade'), ErrorCode.INVALID_UPDATE_VERSION],
  [RecordTooLargeError, new RecordTooLargeError('big'), ErrorCode.MESSAGE_TOO_LARGE],
  [
    UnexpectedAppendOffsetError,
    new UnexpectedAppendOffsetError('back', 1n, 2n),
    ErrorCode.UNKNOWN_SERVER_ERROR,
  ],
  [LogClosedError, new LogClosedError('closed'), ErrorCode.NOT_LEADER_OR_FOLLOWER],
  [LogCleaningAbortedError, new LogCleaningAbortedError('aborted'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [SwapRefusedError, new SwapRefusedError('changed'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [InvalidConfigError, new InvalidConfigError('retention.ms', 'bad'), ErrorCode.INVALID_CONFIG],
  [TopicOperationError, new TopicOperationError('TOPIC_ALREADY_EXISTS', 'x'), ErrorCode.TOPIC_ALREADY_EXISTS],
  [AssignmentError, new AssignmentError('rf'), ErrorCode.INVALID_REPLICA_ASSIGNMENT],
  [NotControllerError, new NotControllerError(3), ErrorCode.NOT_CONTROLLER],
  [MetadataStoreError, new MetadataStoreError('etcd'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [BrokerError, new SomeBrokerError('x'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [UnknownTopicOrPartitionError, new UnknownTopicOrPartitionError('t'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  [NotLeaderOrFollowerError, new NotLeaderOrFollowerError('l'), ErrorCode.NOT_LEADER_OR_FOLLOWER],
  [FencedLeaderEpochError, new FencedLeaderEpochError('e'), ErrorCode.FENCED_LEADER_EPOCH],
  [UnknownLeaderEpochError, new UnknownLeaderEpochError('e'), ErrorCode.UNKNOWN_LEADER_EPOCH],
  [NotEnoughReplicasError, new NotEnoughReplicasError('isr'), ErrorCode.NOT_ENOUGH_REPLICAS],
  [OutOfOrderSequenceError, new OutOfOrderSequenceError('seq'), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER],
  [InvalidProducerEpochError, new InvalidProducerEpochError('epoch'), ErrorCode.INVALID_PRODUCER_EPOCH],
  [PolicyViolationError, new PolicyViolationError('policy'), ErrorCode.POLICY_VIOLATION],
  [InvalidTxnStateError, new InvalidTxnStateError('state'), ErrorCode.INVALID_TXN_STATE],
  [
    TransactionCoordinatorFencedError,
    new TransactionCoordinatorFencedError('coordinator epoch'),
    ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  ],
  [
    InvalidProducerIdMappingError,
    new InvalidProducerIdMappingError('pid'),
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ],
  [InvalidRequestError, new InvalidRequestError('key'), ErrorCode.INVALID_REQUEST],
  [ConnectionError, new ConnectionError('conn'), ErrorCode.NETWORK_EXCEPTION],
  [RequestTimeoutError, new RequestTimeoutError('slow'), ErrorCode.REQUEST_TIMED_OUT],
  [ResponseError, new ResponseError(ErrorCode.NOT_CONTROLLER), ErrorCode.NOT_CONTROLLER],
  [
    KafkaClientError,
    new KafkaClientError('COORDINATOR_NOT_AVAILABLE', 'x'),
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ],
  [UnsupportedVersionError, new UnsupportedVersionError('v'), ErrorCode.UNSUPPORTED_VERSION],
  [ClientClosedError, new ClientClosedError(), ErrorCode.NETWORK_EXCEPTION],
  [MalformedResponseError, new MalformedResponseError('body'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [IllegalStateTransition, new IllegalStateTransition('Dead → Stable'), ErrorCode.UNKNOWN_SERVER_ERROR],
  [SaslFailure, new SaslFailure('bad proof'), ErrorCode.SASL_AUTHENTICATION_FAILED],
  [AuthenticationError, new AuthenticationError('refused'), ErrorCode.SASL_AUTHENTICATION_FAILED],
  [ClientCertificateError, new ClientCertificateError('untrusted'), ErrorCode.SASL_AUTHENTICATION_FAILED],
  [DerError, new DerError('truncated'), ErrorCode.SASL_AUTHENTICATION_FAILED],
  [NoMatchingRuleError, new NoMatchingRuleError('CN=x'), ErrorCode.SASL_AUTHENTICATION_FAILED],
  [JaasConfigError, new JaasConfigError('no ;'), ErrorCode.INVALID_CONFIG],
  [InvalidRuleError, new InvalidRuleError('RULE:'), ErrorCode.INVALID_CONFIG],
];

describe('error table', () => {
  it('has a row for every error class the broker, storage, protocol, controller and common export', async () => {
    const classes = await exportedErrorClasses();
    expect(classes.size).toBeGreaterThan(20); // the scan found the modules
    const unmapped = [...classes].filter(([c]) => !hasErrorMapping(c)).map(([, where]) => where);
    expect(unmapped, 'add a row to src/broker/error-mapping.ts').toEqual([]);
    const unsampled = [...classes].filter(([c]) => !SAMPLES.some(([s]) => s === c)).map(([, where]) => where);
    expect(unsampled, 'add a sample to this test').toEqual([]);
  });

  it.each(SAMPLES.map(([cls, err, code]) => [cls.name, err, code] as const))(
    '%s → its Kafka code',
    (_name, err, code) => {
      expect(errorName(errorCodeOf(err))).toBe(errorName(code));
      expect(isMappedError(err)).toBe(true);
    },
  );

  it('anything else is UNKNOWN_SERVER_ERROR; a subclass without a row inherits its parent row', () => {
    expect(errorCodeOf(new Error('boom'))).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(errorCodeOf(Object.assign(new Error('fs'), { code: 'EIO' }))).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(errorCodeOf('a string')).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(errorCodeOf(undefined)).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(isMappedError(new Error('boom'))).toBe(false);
    class Deeper extends FencedLeaderEpochError {}
    expect(errorCodeOf(new Deeper('x'))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    // A carried name that is no Kafka error is a bug, answered as an unknown server error.
    expect(errorCodeOf(new TopicOperationError('NO_SUCH_ERROR', 'x'))).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
  });

  it('the broker and storage errors keep their cause', () => {
    const cause = new Error('EIO');
    for (const e of [
      new KafkaStorageError('write', { cause }),
      new OffsetOutOfRangeError(1n, 0n, 0n, 'offset', { cause }),
      new NotLeaderOrFollowerError('x', { cause }),
      new FencedLeaderEpochError('x', { cause }),
    ])
      expect(e.cause).toBe(cause);
  });
});
