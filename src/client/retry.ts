/**
 * Retry policy for the requests that ask for one. Kafka's client defaults: retry.backoff.ms 100,
 * retry.backoff.max.ms 1000, exponential with 20 % jitter (KIP-580), so many clients failing at once
 * do not come back at once.
 */
import type { KafkaClientError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries?: number;
  /** Backoff before the first retry (default 100 ms); doubles per retry up to `maxBackoffMs`. */
  backoffMs?: number;
  /** Longest backoff (default 1000 ms). */
  maxBackoffMs?: number;
  /** Called before each retry with what failed, the retry's number (1, 2, …) and its delay. */
  onRetry?: (err: KafkaClientError, retry: number, delayMs: number) => void;
}

export interface RetryPolicy {
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly onRetry?: RetryOptions['onRetry'];
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, backoffMs: 100, maxBackoffMs: 1000 };

/** `true` → the defaults; an object → the defaults overridden by it; false/undefined → no retries. */
export function retryPolicy(o: RetryOptions | boolean | undefined): RetryPolicy | null {
  if (!o) return null;
  if (o === true) return DEFAULT_RETRY;
  return { ...DEFAULT_RETRY, ...o };
}

/** The delay before retry number `retry` (1-based): backoff·2^(retry-1), capped, ±20 % jitter. */
export function backoffMs(p: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = Math.min(p.maxBackoffMs, p.backoffMs * 2 ** Math.max(0, retry - 1));
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())));
}
