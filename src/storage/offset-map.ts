/**
 * SkimpyOffsetMap: the log cleaner's key → latest offset table, as Kafka's (SkimpyOffsetMap.java): a
 * fixed-size buffer of slots, each a 16-byte hash of the key and the 8-byte offset, open addressing,
 * no deletes. The key itself is never stored: two keys with the same 128-bit hash count as one, which
 * is what lets a bounded amount of memory stand for any key size. Memory is exactly the buffer given
 * (log.cleaner.dedupe.buffer.size / log.cleaner.threads); the cleaner stops filling it at
 * log.cleaner.io.buffer.load.factor of its slots and cleans the rest of the log in a later pass.
 *
 * Hash: Kafka uses MD5. Node's MD5 costs a native call per key (several µs); MurmurHash3 x86_128 in
 * plain JavaScript is ~20 times faster here and has the same 128 bits, so accidental collisions stay
 * as unlikely. Neither is collision-resistant against a producer crafting keys on purpose (MD5
 * collisions are cheap to make), so this is no weaker than Kafka's choice.
 *
 * Probing: the first four probes use the hash's four 32-bit words as slot numbers, then linear
 * probing from the last (Kafka reads successive ints from the hash bytes, then probes linearly).
 * Offsets are stored as float64 (exact below 2^53, the cleaner refuses larger offsets).
 */

const ENTRY_BYTES = 24;

/** MurmurHash3 x86_128 of buf[start, end) into out[0..3] (signed 32-bit words). */
export function murmur3x86x128(buf: Uint8Array, start: number, end: number, out: Int32Array, seed = 0): void {
  const len = end - start;
  const nblocks = len >>> 4;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const c1 = 0x239b961b;
  const c2 = 0xab0e9789 | 0;
  const c3 = 0x38b34ae5;
  const c4 = 0xa1e38b93 | 0;
  let i = start;
  for (let n = 0; n < nblocks; n++, i += 16) {
    let k1 = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    let k2 = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    let k3 = buf[i + 8]! | (buf[i + 9]! << 8) | (buf[i + 10]! << 16) | (buf[i + 11]! << 24);
    let k4 = buf[i + 12]! | (buf[i + 13]! << 8) | (buf[i + 14]! << 16) | (buf[i + 15]! << 24);
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(k2, c2);
    k2 = (k2 << 16) | (k2 >>> 16);
    k2 = Math.imul(k2, c3);
    h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(k3, c3);
    k3 = (k3 << 17) | (k3 >>> 15);
    k3 = Math.imul(k3, c4);
    h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(k4, c4);
    k4 = (k4 << 18) | (k4 >>> 14);
    k4 = Math.imul(k4, c1);
    h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // Tail: up to 15 bytes, little-endian into k1..k4 (the reference implementation's fall-through).
  const tail = len & 15;
  if (tail > 0) {
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    let k4 = 0;
    for (let t = tail - 1; t >= 0; t--) {
      const byte = buf[i + t]!;
      const shift = (t & 3) << 3;
      if (t >= 12) k4 ^= byte << shift;
      else if (t >= 8) k3 ^= byte << shift;
      else if (t >= 4) k2 ^= byte << shift;
      else k1 ^= byte << shift;
    }
    if (tail > 12) {
      k4 = Math.imul(k4, c4);
      k4 = (k4 << 18) | (k4 >>> 14);
      k4 = Math.imul(k4, c1);
      h4 ^= k4;
    }
    if (tail > 8) {
      k3 = Math.imul(k3, c3);
      k3 = (k3 << 17) | (k3 >>> 15);
      k3 = Math.imul(k3, c4);
      h3 ^= k3;
    }
    if (tail > 4) {
      k2 = Math.imul(k2, c2);
      k2 = (k2 << 16) | (k2 >>> 16);
      k2 = Math.imul(k2, c3);
      h2 ^= k2;
    }
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b | 0);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35 | 0);
  h ^= h >>> 16;
  return h;
}

export class SkimpyOffsetMap {
  readonly memory: number;
  readonly slots: number;
  readonly bytesPerEntry = ENTRY_BYTES;
  readonly #words: Int32Array;
  readonly #offsets: Float64Array;
  readonly #hash = new Int32Array(4);
  #entries = 0;
  #lookups = 0;
  #probes = 0;
  #latestOffset = -1;

  /** A map using exactly `memory` bytes (rounded down to whole 24-byte slots). */
  constructor(memory: number) {
    const slots = Math.floor(memory / ENTRY_BYTES);
    if (slots < 1) throw new RangeError(`offset map of ${memory} bytes holds no entry`);
    this.slots = slots;
    this.memory = slots * ENTRY_BYTES;
    const buf = new ArrayBuffer(this.memory);
    this.#words = new Int32Array(buf);
    this.#offsets = new Float64Array(buf);
  }

  /** Entries put (distinct hashes). */
  get size(): number {
    return this.#entries;
  }
  /** The latest offset put or set with updateLatestOffset; -1 after clear(). */
  get latestOffset(): number {
    return this.#latestOffset;
  }
  get utilization(): number {
    return this.#entries / this.slots;
  }
  /** Average extra probes per lookup (Kafka's collisionRate). */
  get collisionRate(): number {
    return this.#lookups === 0 ? 0 : (this.#probes - this.#lookups) / this.#lookups;
  }

  clear(): void {
    this.#words.fill(0);
    this.#entries = 0;
    this.#lookups = 0;
    this.#probes = 0;
    this.#latestOffset = -1;
  }

  updateLatestOffset(offset: number): void {
    this.#latestOffset = offset;
  }

  /** Slot number of the `attempt`-th probe for the current hash. */
  #slotOf(attempt: number): number {
    this.#probes++;
    const h = this.#hash;
    const probe = attempt < 4 ? h[attempt]! : (h[3]! + (attempt - 3)) | 0;
    return (probe >>> 0) % this.slots;
  }

  #isEmpty(slot: number): boolean {
    const w = this.#words;
    const at = slot * 6;
    return (
      w[at] === 0 &&
      w[at + 1] === 0 &&
      w[at + 2] === 0 &&
      w[at + 3] === 0 &&
      this.#offsets[slot * 3 + 2] === 0
    );
  }

  #matches(slot: number): boolean {
    const w = this.#words;
    const h = this.#hash;
    const at = slot * 6;
    return w[at] === h[0] && w[at + 1] === h[1] && w[at + 2] === h[2] && w[at + 3] === h[3];
  }

  /** Record `offset` as the latest for the key in key[start, end). */
  put(key: Uint8Array, start: number, end: number, offset: number): void {
    if (this.#entries >= this.slots)
      throw new RangeError(`offset map is full: ${this.#entries} entries in ${this.slots} slots`);
    this.#lookups++;
    murmur3x86x128(key, start, end, this.#hash);
    let attempt = 0;
    let slot = this.#slotOf(attempt);
    while (!this.#isEmpty(slot)) {
      if (this.#matches(slot)) {
        this.#offsets[slot * 3 + 2] = offset;
        this.#latestOffset = offset;
        return;
      }
      slot = this.#slotOf(++attempt);
    }
    const at = slot * 6;
    const h = this.#hash;
    this.#words[at] = h[0]!;
    this.#words[at + 1] = h[1]!;
    this.#words[at + 2] = h[2]!;
    this.#words[at + 3] = h[3]!;
    this.#offsets[slot * 3 + 2] = offset;
    this.#latestOffset = offset;
    this.#entries++;
  }

  /** The latest offset recorded for the key in key[start, end), or -1. */
  get(key: Uint8Array, start: number, end: number): number {
    this.#lookups++;
    murmur3x86x128(key, start, end, this.#hash);
    // Every slot is visited at most once by the linear phase, so this many probes ends the search.
    const maxAttempts = this.slots + 4;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const slot = this.#slotOf(attempt);
      if (this.#isEmpty(slot)) return -1;
      if (this.#matches(slot)) return this.#offsets[slot * 3 + 2]!;
    }
    return -1;
  }
}
