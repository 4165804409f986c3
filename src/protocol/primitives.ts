/**
 * Kafka wire primitives, sans-I/O: a growable writer and a bounds-checked reader.
 *
 * Layouts (all big-endian):
 *   int8/int16/int32/int64/uint16/uint32/float64   fixed width
 *   unsigned varint    7 bits per byte, low groups first (compact lengths, tagged fields)
 *   varint / varlong   zig-zag encoded, then unsigned varint (records only)
 *   string             int16 length (-1 = null) + UTF-8
 *   compact string     unsigned varint length+1 (0 = null) + UTF-8
 *   bytes              int32 length (-1 = null) + raw
 *   compact bytes      unsigned varint length+1 (0 = null) + raw
 *   uuid               16 raw bytes
 *
 * Every read past the end throws DecodeError, so a truncated or lying frame becomes a typed error
 * that the network layer turns into a closed connection, never an escaping RangeError.
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a message cannot be written at the requested version (a caller bug, not bad input). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A tagged field this code does not know, kept as raw bytes so re-encoding reproduces it. */
export interface RawTaggedField {
  tag: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);
const UUID_ZERO = '00000000-0000-0000-0000-000000000000';

export class ByteWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.#pos;
  }

  /** The bytes written so far (a view; copy it if the writer is reused). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** Reserve n bytes and return their offset, to be filled later (sizes, CRCs). */
  reserve(n: number): number {
    this.#ensure(n);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  setInt32At(offset: number, v: number): void {
    this.#buf.writeInt32BE(v, offset);
  }

  setUInt32At(offset: number, v: number): void {
    this.#buf.writeUInt32BE(v >>> 0, offset);
  }

  int8(v: number): this {
    this.#ensure(1);
    this.#buf.writeInt8(v, this.#pos);
    this.#pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.#ensure(2);
    this.#buf.writeInt16BE(v, this.#pos);
    this.#pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.#ensure(2);
    this.#buf.writeUInt16BE(v, this.#pos);
    this.#pos += 2;
    return this;
  }

  int32(v: number): this {
    this.#ensure(4);
    this.#buf.writeInt32BE(v, this.#pos);
    this.#pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.#ensure(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#pos);
    this.#pos += 4;
    return this;
  }

  int64(v: bigint): this {
    this.#ensure(8);
    this.#buf.writeBigInt64BE(v, this.#pos);
    this.#pos += 8;
    return this;
  }

  float64(v: number): this {
    this.#ensure(8);
    this.#buf.writeDoubleBE(v, this.#pos);
    this.#pos += 8;
    return this;
  }

  uuid(v: string): this {
    const hex = v.replace(/-/g, '');
    if (hex.length !== 32 || !/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`invalid uuid: ${v}`);
    this.#ensure(16);
    this.#buf.write(hex, this.#pos, 16, 'hex');
    this.#pos += 16;
    return this;
  }

  unsignedVarint(v: number): this {
    this.#ensure(5);
    let value = v >>> 0;
    while (value >= 0x80) {
      this.#buf[this.#pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.#buf[this.#pos++] = value;
    return this;
  }

  /** Zig-zag varint (int32 range), as used inside records. */
  varint(v: number): this {
    return this.unsignedVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zig-zag varlong (int64 range), as used for record timestamp deltas. */
  varlong(v: bigint): this {
    let zz = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.#ensure(10);
    while (zz >= 0x80n) {
      this.#buf[this.#pos++] = Number(zz & 0x7fn) | 0x80;
      zz >>= 7n;
    }
    this.#buf[this.#pos++] = Number(zz);
    return this;
  }

  raw(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  string(v: string): this {
    const len = Buffer.byteLength(v, 'utf8');
    if (len > 0x7fff) throw new RangeError(`string too long for int16 length: ${len}`);
    this.int16(len);
    this.#ensure(len);
    this.#buf.write(v, this.#pos, len, 'utf8');
    this.#pos += len;
    return this;
  }

  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    return this.string(v);
  }

  compactString(v: string): this {
    const len = Buffer.byteLength(v, 'utf8');
    this.unsignedVarint(len + 1);
    this.#ensure(len);
    this.#buf.write(v, this.#pos, len, 'utf8');
    this.#pos += len;
    return this;
  }

  compactNullableString(v: string | null): this {
    if (v === null) return this.unsignedVarint(0);
    return this.compactString(v);
  }

  bytes(v: Uint8Array): this {
    this.int32(v.length);
    return this.raw(v);
  }

  nullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    return this.bytes(v);
  }

  compactBytes(v: Uint8Array): this {
    this.unsignedVarint(v.length + 1);
    return this.raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.unsignedVarint(0);
    return this.compactBytes(v);
  }

  /** One tagged field: unsigned varint tag, unsigned varint size, then the field's bytes. */
  taggedField(tag: number, data: Uint8Array): this {
    this.unsignedVarint(tag);
    this.unsignedVarint(data.length);
    return this.raw(data);
  }

  /**
   * Write the raw tagged fields fields[from..] whose tag is below `belowTag`, and return the index of
   * the first one not written. Generated encoders call this before each known tag so unknown and known
   * fields come out merged in tag order (and with belowTag = Infinity at the end for the rest).
   */
  rawTaggedFields(fields: readonly RawTaggedField[] | undefined, from: number, belowTag: number): number {
    if (fields === undefined) return from;
    let i = from;
    for (; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.tag >= belowTag) break;
      this.taggedField(f.tag, f.data);
    }
    return i;
  }

  /** Array length prefix: int32 (-1 = null) or, when compact, unsigned varint length+1 (0 = null). */
  arrayLength(n: number | null, compact: boolean): this {
    if (compact) return this.unsignedVarint(n === null ? 0 : n + 1);
    return this.int32(n === null ? -1 : n);
  }
}

export class ByteReader {
  readonly buf: Buffer;
  #pos: number;
  readonly #end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.#pos = offset;
    this.#end = end;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n < 0 || this.#pos + n > this.#end) {
      throw new DecodeError(
        `truncated ${what}: need ${n} bytes at offset ${this.#pos}, have ${this.#end - this.#pos}`,
      );
    }
  }

  skip(n: number): void {
    this.#need(n, 'skip');
    this.#pos += n;
  }

  int8(): number {
    this.#need(1, 'int8');
    return this.buf.readInt8(this.#pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.#need(2, 'int16');
    const v = this.buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  uint16(): number {
    this.#need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  int32(): number {
    this.#need(4, 'int32');
    const v = this.buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  uint32(): number {
    this.#need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  int64(): bigint {
    this.#need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.#pos);
    this.#pos += 8;
    return v;
  }

  float64(): number {
    this.#need(8, 'float64');
    const v = this.buf.readDoubleBE(this.#pos);
    this.#pos += 8;
    return v;
  }

  uuid(): string {
    this.#need(16, 'uuid');
    const h = this.buf.toString('hex', this.#pos, this.#pos + 16);
    this.#pos += 16;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  unsignedVarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      this.#need(1, 'varint');
      const b = this.buf[this.#pos++]!;
      if (shift === 28 && (b & 0xf0) !== 0) throw new DecodeError('varint is longer than 5 bytes');
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value >>> 0;
      shift += 7;
    }
  }

  varint(): number {
    const u = this.unsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  varlong(): bigint {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      this.#need(1, 'varlong');
      const b = this.buf[this.#pos++]!;
      if (shift > 63n) throw new DecodeError('varlong is longer than 10 bytes');
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    return BigInt.asIntN(64, (value >> 1n) ^ -(value & 1n));
  }

  /**
   * Zig-zag varlong as a number, without BigInt: for the record validation hot path, where the value
   * is a timestamp delta (well inside 2^53). Larger values lose precision, never bounds safety.
   */
  varlongNumber(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      this.#need(1, 'varlong');
      const b = this.buf[this.#pos++]!;
      if (i >= 10) throw new DecodeError('varlong is longer than 10 bytes');
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  /** A view of the next n bytes (no copy). */
  raw(n: number): Buffer {
    this.#need(n, 'bytes');
    const v = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  #utf8(n: number): string {
    this.#need(n, 'string');
    const v = this.buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new DecodeError('non-nullable string is null');
    return this.#utf8(n);
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.#utf8(n);
  }

  compactString(): string {
    const n = this.unsignedVarint();
    if (n === 0) throw new DecodeError('non-nullable compact string is null');
    return this.#utf8(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.unsignedVarint();
    if (n === 0) return null;
    return this.#utf8(n - 1);
  }

  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new DecodeError('non-nullable bytes is null');
    return this.raw(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    return this.raw(n);
  }

  compactBytes(): Buffer {
    const n = this.unsignedVarint();
    if (n === 0) throw new DecodeError('non-nullable compact bytes is null');
    return this.raw(n - 1);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.unsignedVarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  /**
   * Array length: null when the wire says null. Guards against a lying length: each element takes at
   * least one byte, so a count larger than the bytes left is malformed (and would otherwise make us
   * allocate a huge array before noticing).
   */
  arrayLength(compact: boolean): number | null {
    let n: number;
    if (compact) {
      const u = this.unsignedVarint();
      if (u === 0) return null;
      n = u - 1;
    } else {
      n = this.int32();
      if (n < 0) return null;
    }
    if (n > this.remaining)
      throw new DecodeError(`array length ${n} exceeds the ${this.remaining} bytes left`);
    return n;
  }
}

export { EMPTY as EMPTY_BUFFER, UUID_ZERO };
