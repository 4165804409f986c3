/**
 * The four RecordBatch codecs, as Kafka clients write them. The codec compresses the whole records
 * section (everything after RecordCount) as one block.
 *
 *   gzip    RFC 1952 (java.util.zip.GZIPOutputStream, librdkafka zlib). node:zlib.
 *   snappy  The Java client writes xerial-snappy framing:
 *             magic  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00   (8 bytes)
 *             version int32 BE (1), compatible version int32 BE (1)
 *             [ length int32 BE, raw snappy block ]*        (blocks of 32 KiB input)
 *           librdkafka writes one raw snappy block and reads both. We write xerial (Java consumers
 *           before 3.x can only read that) and read both, telling them apart by the magic.
 *   lz4     Standard LZ4 frames (KafkaLZ4BlockOutputStream, librdkafka's LZ4F): magic 0x184D2204 LE,
 *           FLG, BD, [content size], header checksum, [ block size uint32 LE (high bit = stored),
 *           data, [block checksum] ]*, end mark 0, [content checksum]. Magic 2 batches never carry
 *           the broken header checksum old Kafka wrote for magic 0/1.
 *   zstd    Standard zstd frames (zstd-jni / libzstd), level 3 by default like Kafka.
 *
 * Decompression is guarded against bombs: before inflating, the input's structure gives the output
 * size (snappy's preambles, exact) or an upper bound (LZ4 and zstd block headers); gzip inflates with
 * zlib's maxOutputLength. Over the limit is a DecompressionLimitError (MESSAGE_TOO_LARGE); damaged
 * input is a CorruptRecordError (CORRUPT_MESSAGE).
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import * as zstd from '@mongodb-js/zstd';
import { CompressionType } from './batch-header.js';
import { CorruptRecordError, DecompressionLimitError, InvalidRecordError } from './errors.js';

/** Default ceiling for one decompressed records section. Callers pass their own where they know better. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 128 * 1024 * 1024;

export interface CompressOptions {
  /** gzip 1..9 (default 6, as GZIPOutputStream); zstd 1..22 (default 3, as Kafka). Ignored otherwise. */
  level?: number;
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_BLOCK_SIZE = 32 * 1024;

function codecName(type: CompressionType): string {
  return type in CompressionType ? CompressionType[type].toLowerCase() : `codec ${type}`;
}

function unsupported(type: number): InvalidRecordError {
  return new InvalidRecordError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec ${type}`);
}

function corrupt(type: CompressionType, err: unknown): CorruptRecordError {
  const why = err instanceof Error ? err.message : String(err);
  return new CorruptRecordError(`${codecName(type)} data cannot be decompressed: ${why}`, { cause: err });
}

// ---------------------------------------------------------------------------------------------------
// compress

export async function compress(
  type: CompressionType,
  buf: Buffer,
  opts: CompressOptions = {},
): Promise<Buffer> {
  switch (type) {
    case CompressionType.None:
      return buf;
    case CompressionType.Gzip:
      return gzipAsync(buf, { level: opts.level ?? 6 });
    case CompressionType.Snappy:
      return xerialFrame(await Promise.all(xerialChunks(buf).map((c) => snappy.compress(c))));
    case CompressionType.Lz4:
      return lz4.compressFrame(buf);
    case CompressionType.Zstd:
      return zstd.compress(buf, opts.level ?? 3);
    default:
      throw unsupported(type);
  }
}

/** Synchronous compression; zstd has no synchronous binding here and throws. */
export function compressSync(type: CompressionType, buf: Buffer, opts: CompressOptions = {}): Buffer {
  switch (type) {
    case CompressionType.None:
      return buf;
    case CompressionType.Gzip:
      return zlib.gzipSync(buf, { level: opts.level ?? 6 });
    case CompressionType.Snappy:
      return xerialFrame(xerialChunks(buf).map((c) => snappy.compressSync(c)));
    case CompressionType.Lz4:
      return lz4.compressFrameSync(buf);
    case CompressionType.Zstd:
      throw new TypeError('zstd has no synchronous compressor; use compress()');
    default:
      throw unsupported(type);
  }
}

function xerialChunks(buf: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < buf.length; at += XERIAL_BLOCK_SIZE)
    chunks.push(buf.subarray(at, at + XERIAL_BLOCK_SIZE));
  return chunks;
}

function xerialFrame(blocks: Buffer[]): Buffer {
  const size = XERIAL_HEADER_SIZE + blocks.reduce((n, b) => n + 4 + b.length, 0);
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(1, 8);
  out.writeInt32BE(1, 12);
  let at = XERIAL_HEADER_SIZE;
  for (const b of blocks) {
    out.writeInt32BE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// decompress

export async function decompress(
  type: CompressionType,
  buf: Buffer,
  maxOutputSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
): Promise<Buffer> {
  switch (type) {
    case CompressionType.None:
      if (buf.length > maxOutputSize) throw new DecompressionLimitError(maxOutputSize, buf.length, 'records');
      return buf;
    case CompressionType.Gzip:
      try {
        return await gunzipAsync(buf, { maxOutputLength: maxOutputSize });
      } catch (err) {
        throw gzipError(err, maxOutputSize);
      }
    case CompressionType.Snappy: {
      const blocks = snappyBlocks(buf, maxOutputSize);
      try {
        const parts = await Promise.all(
          blocks.map((b) => snappy.uncompress(b, { asBuffer: true }) as Promise<Buffer>),
        );
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      } catch (err) {
        throw corrupt(type, err);
      }
    }
    case CompressionType.Lz4:
      return decompressLz4(buf, maxOutputSize, true) as Promise<Buffer>;
    case CompressionType.Zstd: {
      const bound = zstdBound(buf);
      if (bound > maxOutputSize) throw new DecompressionLimitError(maxOutputSize, bound, 'zstd');
      try {
        return await zstd.decompress(buf);
      } catch (err) {
        throw corrupt(type, err);
      }
    }
    default:
      throw unsupported(type);
  }
}

/** Synchronous decompression; zstd has no synchronous binding here and throws. */
export function decompressSync(
  type: CompressionType,
  buf: Buffer,
  maxOutputSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
): Buffer {
  switch (type) {
    case CompressionType.None:
      if (buf.length > maxOutputSize) throw new DecompressionLimitError(maxOutputSize, buf.length, 'records');
      return buf;
    case CompressionType.Gzip:
      try {
        return zlib.gunzipSync(buf, { maxOutputLength: maxOutputSize });
      } catch (err) {
        throw gzipError(err, maxOutputSize);
      }
    case CompressionType.Snappy: {
      const blocks = snappyBlocks(buf, maxOutputSize);
      try {
        const parts = blocks.map((b) => snappy.uncompressSync(b, { asBuffer: true }) as Buffer);
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      } catch (err) {
        throw corrupt(type, err);
      }
    }
    case CompressionType.Lz4:
      return decompressLz4(buf, maxOutputSize, false) as Buffer;
    case CompressionType.Zstd:
      throw new TypeError('zstd has no synchronous decompressor; use decompress()');
    default:
      throw unsupported(type);
  }
}

function gzipError(err: unknown, max: number): Error {
  if (err instanceof RangeError || (err as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE') {
    return new DecompressionLimitError(max, -1, 'gzip');
  }
  return corrupt(CompressionType.Gzip, err);
}

// --- snappy ---------------------------------------------------------------------------------------

/** True when `buf` starts with the xerial-snappy magic (Java client framing). */
export function isXerialSnappy(buf: Buffer): boolean {
  return buf.length >= XERIAL_MAGIC.length && buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** Uncompressed length from a raw snappy block's preamble (a little-endian base-128 varint). */
function snappyPreamble(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  throw new CorruptRecordError('snappy data has no valid length preamble');
}

/** Split into raw snappy blocks (one, or xerial's many) and check the announced total against the limit. */
function snappyBlocks(buf: Buffer, max: number): Buffer[] {
  const blocks: Buffer[] = [];
  if (isXerialSnappy(buf)) {
    if (buf.length < XERIAL_HEADER_SIZE) throw new CorruptRecordError('xerial snappy header truncated');
    let at = XERIAL_HEADER_SIZE;
    while (at < buf.length) {
      if (buf.length - at < 4) throw new CorruptRecordError(`xerial snappy block length truncated at ${at}`);
      const len = buf.readInt32BE(at);
      if (len < 0 || len > buf.length - at - 4) {
        throw new CorruptRecordError(
          `xerial snappy block at ${at} announces ${len} bytes, ${buf.length - at - 4} left`,
        );
      }
      blocks.push(buf.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
  } else {
    blocks.push(buf);
  }
  let total = 0;
  for (const b of blocks) total += snappyPreamble(b);
  if (total > max) throw new DecompressionLimitError(max, total, 'snappy');
  return blocks;
}

// --- lz4 ------------------------------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

interface Lz4Block {
  data: Buffer;
  stored: boolean;
  maxSize: number;
}

interface Lz4Scan {
  blocks: Lz4Block[];
  /** Sum over blocks of stored size or block maximum: an upper bound of the output. */
  bound: number;
  independent: boolean;
}

/** Walk the frames' headers and block sizes without decompressing anything. */
function scanLz4(buf: Buffer): Lz4Scan {
  const blocks: Lz4Block[] = [];
  let bound = 0;
  let independent = true;
  let at = 0;
  const need = (n: number, what: string): void => {
    if (buf.length - at < n) throw new CorruptRecordError(`lz4 frame truncated in ${what} at byte ${at}`);
  };
  if (buf.length === 0) throw new CorruptRecordError('lz4 data is empty');
  while (at < buf.length) {
    need(4, 'magic');
    const magic = buf.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // skippable frame
      need(8, 'skippable frame');
      const len = buf.readUInt32LE(at + 4);
      at += 8;
      need(len, 'skippable frame');
      at += len;
      continue;
    }
    if (magic !== LZ4_MAGIC)
      throw new CorruptRecordError(`not an lz4 frame: magic ${magic.toString(16)} at byte ${at}`);
    at += 4;
    need(3, 'frame descriptor');
    const flg = buf[at]!;
    const bd = buf[at + 1]!;
    if (flg >> 6 !== 1) throw new CorruptRecordError(`lz4 frame version ${flg >> 6} is not supported`);
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
    if (blockMax === 0) throw new CorruptRecordError(`lz4 frame block size id ${(bd >> 4) & 7} is invalid`);
    if ((flg & 0x20) === 0) independent = false;
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    at += 2 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1; // + header checksum
    need(0, 'frame descriptor');
    for (;;) {
      need(4, 'block size');
      const word = buf.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // end mark
      const stored = (word & 0x80000000) !== 0;
      const len = word & 0x7fffffff;
      if (len > blockMax)
        throw new CorruptRecordError(`lz4 block of ${len} bytes exceeds the frame's ${blockMax}`);
      need(len + (blockChecksum ? 4 : 0), 'block');
      blocks.push({ data: buf.subarray(at, at + len), stored, maxSize: blockMax });
      bound += stored ? len : blockMax;
      at += len + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) {
      need(4, 'content checksum');
      at += 4;
    }
  }
  return { blocks, bound, independent };
}

/**
 * Usually the block-size bound is within one block of the real size and the native frame decoder
 * runs (it checks header and content checksums). When the bound is over the limit, e.g. many small
 * blocks, decode block by block and stop as soon as the real output passes the limit.
 */
function decompressLz4(buf: Buffer, max: number, async: boolean): Buffer | Promise<Buffer> {
  const scan = scanLz4(buf);
  if (scan.bound <= max) {
    if (!async) {
      try {
        return lz4.decompressFrameSync(buf);
      } catch (err) {
        throw corrupt(CompressionType.Lz4, err);
      }
    }
    return lz4.decompressFrame(buf).catch((err: unknown) => {
      throw corrupt(CompressionType.Lz4, err);
    });
  }
  if (!scan.independent) throw new DecompressionLimitError(max, scan.bound, 'lz4 (linked blocks)');
  const parts: Buffer[] = [];
  let total = 0;
  for (const block of scan.blocks) {
    let out: Buffer;
    if (block.stored) {
      out = block.data;
    } else {
      // lz4-napi's block API takes a little-endian size prefix: the block maximum is the capacity.
      const framed = Buffer.allocUnsafe(4 + block.data.length);
      framed.writeUInt32LE(block.maxSize, 0);
      block.data.copy(framed, 4);
      try {
        out = lz4.uncompressSync(framed);
      } catch (err) {
        throw corrupt(CompressionType.Lz4, err);
      }
    }
    total += out.length;
    if (total > max) throw new DecompressionLimitError(max, -1, 'lz4');
    parts.push(out);
  }
  const result = Buffer.concat(parts, total);
  return async ? Promise.resolve(result) : result;
}

// --- zstd -----------------------------------------------------------------------------------------

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX = 128 * 1024;

/**
 * Upper bound of the decompressed size, from the frames' block headers: raw and RLE blocks state
 * their regenerated size; a compressed block regenerates at most 128 KiB (Block_Maximum_Size).
 */
export function zstdBound(buf: Buffer): number {
  let at = 0;
  let bound = 0;
  const need = (n: number, what: string): void => {
    if (buf.length - at < n) throw new CorruptRecordError(`zstd frame truncated in ${what} at byte ${at}`);
  };
  if (buf.length === 0) throw new CorruptRecordError('zstd data is empty');
  while (at < buf.length) {
    need(4, 'magic');
    const magic = buf.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      need(8, 'skippable frame');
      const len = buf.readUInt32LE(at + 4);
      at += 8;
      need(len, 'skippable frame');
      at += len;
      continue;
    }
    if (magic !== ZSTD_MAGIC)
      throw new CorruptRecordError(`not a zstd frame: magic ${magic.toString(16)} at byte ${at}`);
    at += 4;
    need(1, 'frame header');
    const fhd = buf[at]!;
    at += 1;
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    const checksum = (fhd & 0x04) !== 0;
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    at += (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    for (;;) {
      need(3, 'block header');
      const h = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16);
      at += 3;
      const last = (h & 1) !== 0;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 0) {
        need(size, 'raw block');
        at += size;
        bound += size;
      } else if (type === 1) {
        need(1, 'rle block');
        at += 1;
        bound += size;
      } else if (type === 2) {
        need(size, 'compressed block');
        at += size;
        bound += ZSTD_BLOCK_MAX;
      } else {
        throw new CorruptRecordError(`zstd block type 3 (reserved) at byte ${at - 3}`);
      }
      if (last) break;
    }
    if (checksum) {
      need(4, 'content checksum');
      at += 4;
    }
  }
  return bound;
}
