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

/**
 * One refused record of a batch (KIP-467): its index in the batch and why. Produce v8+ answers these
 * as `record_errors`, so a client can tell which record was bad.
 */
export interface RecordError {
  batchIndex: number;
  message: string | null;
}

/** Well-formed bytes that break a rule (null key on a compacted topic, timestamp out of range, ...). */
export class InvalidRecordError extends RecordValidationError {
  override readonly name: string = 'InvalidRecordError';
  readonly errorName: InvalidRecordErrorName;
  /**
   * The records that broke a record-level rule (Kafka's RecordValidationException), empty for a
   * batch-level refusal. When there are any, the whole batch is refused and none of it is written.
   */
  readonly recordErrors: readonly RecordError[];

  constructor(
    errorName: InvalidRecordErrorName,
    message: string,
    options?: { cause?: unknown; recordErrors?: readonly RecordError[] },
  ) {
    super(message, options);
    this.errorName = errorName;
    this.recordErrors = options?.recordErrors ?? [];
  }
}

/** Java's RecordError.toString, which Kafka's summary message lists. */
function recordErrorText(e: RecordError): string {
  return `RecordError(batchIndex=${e.batchIndex}, message=${e.message === null ? 'null' : `'${e.message}'`})`;
}

/**
 * The error for a batch some of whose records broke record-level rules, as Kafka's LogValidator
 * builds it (processRecordErrors): INVALID_TIMESTAMP when any record's timestamp was refused, else
 * INVALID_RECORD, with Kafka's summary sentence; the records themselves in `recordErrors`.
 */
export function recordErrorsError(
  errors: readonly { errorName: 'INVALID_RECORD' | 'INVALID_TIMESTAMP'; error: RecordError }[],
): InvalidRecordError {
  const recordErrors = errors.map((e) => e.error);
  if (errors.some((e) => e.errorName === 'INVALID_TIMESTAMP'))
    return new InvalidRecordError(
      'INVALID_TIMESTAMP',
      'One or more records have been rejected due to invalid timestamp',
      { recordErrors },
    );
  return new InvalidRecordError(
    'INVALID_RECORD',
    `One or more records have been rejected due to ${recordErrors.length} record errors in total, and only showing the first three errors at most: [${recordErrors.slice(0, 3).map(recordErrorText).join(', ')}]`,
    { recordErrors },
  );
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
