/**
 * Errors raised by the log engine. They say what went wrong in storage terms; which Kafka error code
 * a client sees for each is decided in one place, the broker's error table
 * (src/broker/error-mapping.ts), never here. Every class takes `cause` so a wrapped I/O error keeps
 * its errno and stack.
 *
 * Record errors (CorruptRecordError, InvalidRecordError) are the protocol layer's
 * (src/protocol/records/errors.ts): a batch the log refuses is refused for the same reasons a
 * Produce request is, so there is one class for each, re-exported here for the log's callers.
 */
import { CorruptRecordError, InvalidRecordError } from '../protocol/records/errors.js';

export { CorruptRecordError, InvalidRecordError };

/** Base class of the log engine's own errors. */
export abstract class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A fetch, ListOffsets or DeleteRecords asked for an offset outside what the log holds. */
export class OffsetOutOfRangeError extends StorageError {
  override readonly name = 'OffsetOutOfRangeError';
  constructor(
    readonly offset: bigint,
    readonly logStartOffset: bigint,
    readonly logEndOffset: bigint,
    what = 'offset',
    options?: { cause?: unknown },
  ) {
    super(`${what} ${offset} is out of range [${logStartOffset}, ${logEndOffset}]`, options);
  }
}

/** An I/O failure in a log directory (Kafka marks the directory offline). */
export class KafkaStorageError extends StorageError {
  override readonly name = 'KafkaStorageError';
}

/** No usable log directory, or a partition directory that cannot be parsed or created. */
export class LogDirError extends StorageError {
  override readonly name = 'LogDirError';
}

/** A batch larger than max.message.bytes (or than a segment can hold). */
export class RecordTooLargeError extends StorageError {
  override readonly name = 'RecordTooLargeError';
}

/**
 * A follower append whose offsets go backwards or overlap what the log already has. Internal in Kafka
 * (UnexpectedAppendOffsetException); the replica fetcher reacts by truncating.
 */
export class UnexpectedAppendOffsetError extends StorageError {
  override readonly name = 'UnexpectedAppendOffsetError';
  constructor(
    message: string,
    readonly firstOffset: bigint,
    readonly lastOffset: bigint,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The log was closed (its partition deleted or moved away, or the broker shutting down) while in use. */
export class LogClosedError extends StorageError {
  override readonly name = 'LogClosedError';
}
