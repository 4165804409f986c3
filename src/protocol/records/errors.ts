/**
 * Errors about record batches, each carrying the Kafka error a Produce response (or the log) reports
 * for it. Kafka draws the same line: CorruptRecordException (CORRUPT_MESSAGE, retriable: the bytes
 * were damaged, e.g. a CRC mismatch) versus InvalidRecordException (INVALID_RECORD and friends: the
 * batch is well formed bytes but breaks a rule, so sending it again will not help).
 */
import { errorByName, type ErrorName } from '../error-codes.js';

/** Base class: `errorName` is the Kafka error to answer with; `code` its number. */
export abstract class RecordValidationError extends Error {
  abstract readonly errorName: ErrorName;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  get code(): number {
    return errorByName(this.errorName)!.code;
  }
}

/** The bytes are damaged: CRC mismatch, truncated or impossible sizes, undecompressable data. */
export class CorruptRecordError extends RecordValidationError {
  override readonly name = 'CorruptRecordError';
  readonly errorName = 'CORRUPT_MESSAGE' as const;
}

export type InvalidRecordErrorName =
  | 'INVALID_RECORD'
  | 'INVALID_TIMESTAMP'
  | 'MESSAGE_TOO_LARGE'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | 'UNSUPPORTED_FOR_MESSAGE_FORMAT';

/** Well-formed bytes that break a rule (null key on a compacted topic, timestamp out of range, ...). */
export class InvalidRecordError extends RecordValidationError {
  override readonly name: string = 'InvalidRecordError';
  readonly errorName: InvalidRecordErrorName;

  constructor(errorName: InvalidRecordErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.errorName = errorName;
  }
}

/** Decompressed output would exceed the caller's limit: refused before (or while) inflating it. */
export class DecompressionLimitError extends InvalidRecordError {
  override readonly name: string = 'DecompressionLimitError';
  readonly limit: number;
  /** The size the data announced or an upper bound of it, when known (else -1). */
  readonly announced: number;

  constructor(limit: number, announced: number, what: string) {
    super(
      'MESSAGE_TOO_LARGE',
      `${what}: decompressed size ${announced >= 0 ? `(up to ${announced} bytes) ` : ''}exceeds the limit of ${limit} bytes`,
    );
    this.limit = limit;
    this.announced = announced;
  }
}
