/**
 * A record inside a RecordBatch v2 (DefaultRecord.java):
 *
 *   Length            varint   bytes after this field
 *   Attributes        int8     unused, 0
 *   TimestampDelta    varlong  from the batch's BaseTimestamp
 *   OffsetDelta       varint   from the batch's BaseOffset
 *   KeyLength         varint   -1 = null
 *   Key               bytes
 *   ValueLength       varint   -1 = null
 *   Value             bytes
 *   HeaderCount       varint
 *   Headers           [HeaderKeyLength varint, HeaderKey utf8, HeaderValueLength varint (-1 = null), HeaderValue]
 *
 * All varints here are zig-zag (ByteUtils.writeVarint), unlike the protocol's unsigned ones.
 */
import { ByteReader, ByteWriter, DecodeError } from '../primitives.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A decoded record with absolute offset and timestamp. */
export interface Record {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** What a producer (or a test, or the broker for its own topics) puts in a batch. */
export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: { key: string; value: Buffer | string | null }[];
  /** Defaults to the batch's base timestamp. */
  timestamp?: bigint;
}

function toBuf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Append one encoded record to `w`. */
export function writeRecord(
  w: ByteWriter,
  rec: RecordInput,
  offsetDelta: number,
  timestampDelta: bigint,
): void {
  const body = new ByteWriter(64);
  body.int8(0);
  body.varlong(timestampDelta);
  body.varint(offsetDelta);
  const key = toBuf(rec.key);
  if (key === null) body.varint(-1);
  else body.varint(key.length).raw(key);
  const value = toBuf(rec.value);
  if (value === null) body.varint(-1);
  else body.varint(value.length).raw(value);
  const headers = rec.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    const hk = Buffer.from(h.key, 'utf8');
    body.varint(hk.length).raw(hk);
    const hv = toBuf(h.value);
    if (hv === null) body.varint(-1);
    else body.varint(hv.length).raw(hv);
  }
  const bytes = body.finish();
  w.varint(bytes.length);
  w.raw(bytes);
}

/**
 * Decode `count` records from an (uncompressed) records section.
 * Throws DecodeError when the section is shorter than the records say or has bytes left over.
 */
export function readRecords(
  section: Buffer,
  count: number,
  baseOffset: bigint,
  baseTimestamp: bigint,
): Record[] {
  const r = new ByteReader(section);
  const out: Record[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining)
      throw new DecodeError(`record ${i} length ${length} is out of range`);
    const end = r.offset + length;
    const rr = new ByteReader(section, r.offset, end);
    rr.int8();
    const tsDelta = rr.varlong();
    const offDelta = rr.varint();
    const keyLen = rr.varint();
    const key = keyLen < 0 ? null : Buffer.from(rr.raw(keyLen));
    const valueLen = rr.varint();
    const value = valueLen < 0 ? null : Buffer.from(rr.raw(valueLen));
    const headerCount = rr.varint();
    if (headerCount < 0 || headerCount > rr.remaining)
      throw new DecodeError(`bad header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hkLen = rr.varint();
      if (hkLen < 0) throw new DecodeError('null header key');
      const hk = rr.raw(hkLen).toString('utf8');
      const hvLen = rr.varint();
      headers.push({ key: hk, value: hvLen < 0 ? null : Buffer.from(rr.raw(hvLen)) });
    }
    if (rr.remaining !== 0) throw new DecodeError(`record ${i} has ${rr.remaining} unread bytes`);
    r.skip(length);
    out.push({
      offset: baseOffset + BigInt(offDelta),
      timestamp: baseTimestamp + tsDelta,
      key,
      value,
      headers,
    });
  }
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the last record`);
  return out;
}

/**
 * Walk `count` records of an uncompressed section without copying anything: for each record, its
 * offset delta, timestamp delta, whether the key is null, and the key and value lengths (-1: null). Checks every length against the record
 * and the section (DecodeError otherwise), exactly as strictly as readRecords.
 */
export function walkRecords(
  section: Buffer,
  count: number,
  visit: (
    index: number,
    offsetDelta: number,
    timestampDelta: number,
    keyIsNull: boolean,
    keyLength: number,
    valueLength: number,
  ) => void,
): void {
  const r = new ByteReader(section);
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining)
      throw new DecodeError(`record ${i} length ${length} is out of range`);
    const end = r.offset + length;
    r.int8();
    const tsDelta = r.varlongNumber();
    const offDelta = r.varint();
    const keyLen = r.varint();
    if (keyLen > 0) r.skip(keyLen);
    const valueLen = r.varint();
    if (valueLen > 0) r.skip(valueLen);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > end - r.offset)
      throw new DecodeError(`bad header count ${headerCount}`);
    for (let h = 0; h < headerCount; h++) {
      const hkLen = r.varint();
      if (hkLen < 0) throw new DecodeError('null header key');
      r.skip(hkLen);
      const hvLen = r.varint();
      if (hvLen > 0) r.skip(hvLen);
    }
    if (r.offset !== end)
      throw new DecodeError(
        `record ${i} fields take ${r.offset - (end - length)} bytes, its length says ${length}`,
      );
    visit(i, offDelta, tsDelta, keyLen < 0, keyLen, valueLen);
  }
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the last record`);
}
