/**
 * The client's errors. Each carries the name of the Kafka error it stands for (`errorName`, as in
 * Kafka's Errors table, so the broker's error table (src/broker/error-mapping.ts) maps it back to a code), that code, and whether a
 * caller may retry it (`retriable`, Kafka's RetriableException). Transport failures are retriable:
 * a new connection may well work. Anything else is retriable only when Kafka's table says so.
 *
 *   KafkaClientError           the base; catch this to catch everything the client throws
 *   ├─ ConnectionError         connect failed, the peer closed, a socket error, a bad frame (retriable)
 *   ├─ RequestTimeoutError     no response within the request's timeout (retriable)
 *   ├─ UnsupportedVersionError the broker lacks the API, or no version in the caller's range fits
 *   ├─ ClientClosedError       the caller closed the client or connection
 *   ├─ ResponseError           the broker answered with a Kafka error code
 *   └─ MalformedResponseError  a response body that does not decode at the version it was asked in
 */
import { errorByCode, errorByName, type ErrorName } from '../protocol/error-codes.js';

export class KafkaClientError extends Error {
  /** Kafka's name for the error, e.g. 'NETWORK_EXCEPTION'. */
  readonly errorName: string;
  /** Kafka's code for it (-1, UNKNOWN_SERVER_ERROR, when Kafka has none). */
  readonly code: number;
  readonly retriable: boolean;

  constructor(
    errorName: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown; code?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const info = errorByName(errorName);
    this.errorName = errorName;
    this.code = options.code ?? info?.code ?? -1;
    this.retriable = options.retriable ?? info?.retriable ?? false;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

export class ConnectionError extends KafkaClientError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('NETWORK_EXCEPTION', message, { retriable: true, ...options });
  }
}

export class RequestTimeoutError extends KafkaClientError {
  constructor(message: string) {
    super('REQUEST_TIMED_OUT', message, { retriable: true });
  }
}

export class UnsupportedVersionError extends KafkaClientError {
  constructor(message: string) {
    super('UNSUPPORTED_VERSION', message, { retriable: false });
  }
}

export class ClientClosedError extends KafkaClientError {
  constructor(message = 'client closed') {
    super('NETWORK_EXCEPTION', message, { retriable: false });
  }
}

/** The broker answered, with a Kafka error code; retriable as Kafka's table says. */
export class ResponseError extends KafkaClientError {
  constructor(code: number, message?: string) {
    const info = errorByCode(code);
    const name = info?.name ?? `UNKNOWN_ERROR_CODE_${code}`;
    super(name, message ?? `${name}${info?.message ? `: ${info.message}` : ''}`, {
      retriable: info?.retriable ?? false,
      code,
    });
  }
}

export class MalformedResponseError extends KafkaClientError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('UNKNOWN_SERVER_ERROR', message, { retriable: false, ...options });
  }
}

/** Whether a caller may retry after `err`: a client error marked retriable. */
export function isRetriableError(err: unknown): boolean {
  return err instanceof KafkaClientError && err.retriable;
}

/** For callers that match on Kafka's error names with a literal type. */
export type { ErrorName };
