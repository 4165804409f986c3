import { describe, expect, it } from 'vitest';
import {
  ERROR_TABLE,
  ErrorCode,
  KafkaError,
  errorByCode,
  errorByName,
  errorName,
  isRetriable,
} from '../../src/protocol/error-codes.js';

describe('error code table', () => {
  it('has unique codes and names, in code order, covering -1..128 except the never-assigned 99', () => {
    const codes: number[] = ERROR_TABLE.map((e) => e.code);
    const names = ERROR_TABLE.map((e) => e.name);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(names).size).toBe(names.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    const missing = [];
    for (let c = -1; c <= 128; c++) if (!codes.includes(c)) missing.push(c);
    expect(missing).toEqual([99]);
    for (const e of ERROR_TABLE) {
      expect(e.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      if (e.code !== 0) expect(e.message.length).toBeGreaterThan(0);
    }
  });

  it('knows the well-known entries', () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).toBe(3);
    expect(errorByCode(3)).toMatchObject({ name: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
    expect(errorByCode(35)).toMatchObject({ name: 'UNSUPPORTED_VERSION', retriable: false });
    expect(errorByName('NOT_LEADER_OR_FOLLOWER')).toMatchObject({ code: 6, retriable: true });
    expect(errorByName('CORRUPT_MESSAGE')?.retriable).toBe(true);
    expect(errorByName('INVALID_RECORD')?.code).toBe(87);
    expect(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS).toBe(14);
    expect(isRetriable(ErrorCode.NOT_COORDINATOR)).toBe(true);
    expect(isRetriable(ErrorCode.TOPIC_ALREADY_EXISTS)).toBe(false);
    expect(errorName(9999)).toBe('UNKNOWN_ERROR_CODE_9999');
    expect(errorByCode(99)).toBeUndefined();
  });

  it('KafkaError carries name, code, retriable, default message and cause', () => {
    const cause = new Error('disk');
    const e = new KafkaError('KAFKA_STORAGE_ERROR', undefined, { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('KAFKA_STORAGE_ERROR');
    expect(e.code).toBe(56);
    expect(e.retriable).toBe(true);
    expect(e.message).toMatch(/Disk error/);
    expect(e.cause).toBe(cause);
    expect(new KafkaError(ErrorCode.INVALID_REQUEST, 'bad').message).toBe('bad');
    expect(() => new KafkaError(99 as never)).toThrow(TypeError);
  });
});
