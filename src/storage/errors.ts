/**
 * Errors raised by the log engine. Each carries the Kafka error name it maps to on the wire
 * (`kafkaError`, as in Kafka's `Errors` enum) and whether a client may retry; the broker turns them
 * into error codes, never into a crashed process.
 */
import { CorruptRecordError } from '../protocol/records/batch-header.js';

export { CorruptRecordError };

export abstract class StorageError extends Error {
  abstract readonly kafkaError: string;
  readonly retriable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A fetch or ListOffsets asked for an offset outside [logStartOffset, logEndOffset]. */
export class OffsetOutOfRangeError extends StorageError {
  override readonly name = 'OffsetOutOfRangeError';
  readonly kafkaError = 'OFFSET_OUT_OF_RANGE';
  constructor(
    readonly offset: bigint,
    readonly logStartOffset: bigint,
    readonly logEndOffset: bigint,
    what = 'offset',
  ) {
    super(`${what} ${offset} is out of range [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** An I/O failure in a log directory (Kafka marks the directory offline: KAFKA_STORAGE_ERROR). */
export class KafkaStorageError extends StorageError {
  override readonly name = 'KafkaStorageError';
  readonly kafkaError = 'KAFKA_STORAGE_ERROR';
  override readonly retriable = true;
}

/** No usable log directory, or a partition directory that cannot be parsed or created. */
export class LogDirError extends StorageError {
  override readonly name = 'LogDirError';
  readonly kafkaError = 'KAFKA_STORAGE_ERROR';
}

/** A batch larger than max.message.bytes. */
export class RecordTooLargeError extends StorageError {
  override readonly name = 'RecordTooLargeError';
  readonly kafkaError = 'MESSAGE_TOO_LARGE';
}

/** A structurally valid batch that the log refuses (no records, bad offsets in a leader append). */
export class InvalidRecordError extends StorageError {
  override readonly name = 'InvalidRecordError';
  readonly kafkaError = 'INVALID_RECORD';
}

/**
 * A follower append whose offsets go backwards or overlap what the log already has. Internal in Kafka
 * (UnexpectedAppendOffsetException); the replica fetcher reacts by truncating.
 */
export class UnexpectedAppendOffsetError extends StorageError {
  override readonly name = 'UnexpectedAppendOffsetError';
  readonly kafkaError = 'UNKNOWN_SERVER_ERROR';
  constructor(
    message: string,
    readonly firstOffset: bigint,
    readonly lastOffset: bigint,
  ) {
    super(message);
  }
}

/** The log was closed or deleted while in use. */
export class LogClosedError extends StorageError {
  override readonly name = 'LogClosedError';
  readonly kafkaError = 'NOT_LEADER_OR_FOLLOWER';
  override readonly retriable = true;
}

/** The Kafka error name for any error thrown by the log engine. */
export function kafkaErrorOf(err: unknown): string {
  if (err instanceof StorageError) return err.kafkaError;
  if (err instanceof CorruptRecordError) return 'CORRUPT_MESSAGE';
  return 'UNKNOWN_SERVER_ERROR';
}
