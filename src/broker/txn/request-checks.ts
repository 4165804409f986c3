/**
 * Checks every transaction handler makes of a request before the coordinator sees it.
 */
import { InvalidRequestError } from '../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';

/** Kafka's generated readers refuse a string field longer than an int16 length can say. */
const MAX_STRING_BYTES = 0x7fff;

/**
 * A transactional id longer than 32767 UTF-8 bytes: Kafka fails to parse such a request ("string
 * field … had invalid length") and closes the connection; Sluice's decoder reads compact strings of
 * any length, so the handler refuses it the same way (KafkaApis closes the connection).
 */
export function checkTransactionalId(id: string, api: string): void {
  if (id.length > MAX_STRING_BYTES / 3 && Buffer.byteLength(id, 'utf8') > MAX_STRING_BYTES)
    throw new InvalidRequestError(
      `${api}: transactional id of ${Buffer.byteLength(id, 'utf8')} bytes is longer than a Kafka string (${MAX_STRING_BYTES})`,
    );
}

/** Clients older than the KIP-588 versions do not know PRODUCER_FENCED: they get INVALID_PRODUCER_EPOCH. */
export function fencedForVersion(code: number, apiVersion: number, firstVersionWithFenced: number): number {
  return code === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : code;
}
