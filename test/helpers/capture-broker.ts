/**
 * A tiny fake broker for capturing what real clients put on the wire: it answers ApiVersions and
 * Metadata just well enough that a producer sends Produce requests, records each partition's
 * `records` bytes, and acknowledges them. It is deliberately independent of src/protocol/messages
 * (hand-encoded with ByteWriter) so it can check the generated codecs rather than share their bugs.
 *
 * Advertised: ApiVersions 0-3, Metadata 1, Produce 0-7 (served: 3-7), and Fetch 0-10 and
 * FindCoordinator 0, never served but needed for librdkafka to enable its features (see SUPPORTED).
 * One broker (node 0) leading every partition of every topic asked for, `partitions` per topic.
 *
 * Wire layouts used (non-flexible unless noted; all responses use response header v0 = correlation id):
 *   request header v1      api_key i16, api_version i16, correlation_id i32, client_id string
 *   ApiVersions resp v0-2  error_code i16, [api_key i16, min i16, max i16], (v1+) throttle_time_ms i32
 *   ApiVersions resp v3    error_code i16, compact[api_key, min, max, tags], throttle i32, tags  (flexible)
 *   Metadata req v1        topics [name string] (null = all)
 *   Metadata resp v1       brokers [node_id i32, host string, port i32, rack nullable string],
 *                          controller_id i32, topics [error i16, name string, is_internal bool,
 *                          partitions [error i16, index i32, leader i32, replicas [i32], isr [i32]]]
 *   Produce req v3-7       transactional_id nullable string, acks i16, timeout_ms i32,
 *                          topics [name string, partitions [index i32, records bytes]]
 *   Produce resp v3-7      topics [name string, partitions [index i32, error i16, base_offset i64,
 *                          log_append_time_ms i64, (v5+) log_start_offset i64]], throttle_time_ms i32
 */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { ByteReader, ByteWriter } from '../../src/protocol/primitives.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';

export interface CapturedProduce {
  apiVersion: number;
  clientId: string | null;
  transactionalId: string | null;
  acks: number;
  topic: string;
  partition: number;
  /** The RecordBatch bytes exactly as the client sent them. */
  records: Buffer;
}

const API_VERSIONS = 18;
const METADATA = 3;
const PRODUCE = 0;
const FETCH = 1;

const FIND_COORDINATOR = 10;

/**
 * librdkafka switches features on by API ranges: RecordBatch v2 needs Produce 3 and Fetch 4, zstd
 * Produce 7 and Fetch 10, gzip/snappy the throttle-time feature (Produce 1-2), LZ4 FindCoordinator 0.
 * Clients pick their highest version (7 for both librdkafka 2.0 and kafkajs), so the Produce layouts
 * below only need v3-7; anything else gets no answer.
 */
const SUPPORTED: [number, number, number][] = [
  [PRODUCE, 0, 7],
  [FETCH, 0, 10],
  [METADATA, 1, 1],
  [FIND_COORDINATOR, 0, 0],
  [API_VERSIONS, 0, 3],
];

export class CaptureBroker {
  readonly produced: CapturedProduce[] = [];
  /** Every request seen, for debugging a client that stops early. */
  readonly requests: { apiKey: number; apiVersion: number }[] = [];
  readonly partitions: number;
  #server: Server;
  #sockets = new Set<Socket>();
  #waiters: { pred: () => boolean; resolve: () => void }[] = [];
  #nextOffset = 0n;

  private constructor(server: Server, partitions: number) {
    this.#server = server;
    this.partitions = partitions;
  }

  /** Listen on 127.0.0.1 on a free port. */
  static async start(opts: { partitions?: number } = {}): Promise<CaptureBroker> {
    const server = createServer();
    const broker = new CaptureBroker(server, opts.partitions ?? 1);
    server.on('connection', (s) => broker.#onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return broker;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolve once `pred` holds (checked after every captured Produce), or reject after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const seen = this.requests.map((r) => `${r.apiKey}v${r.apiVersion}`).join(' ');
        reject(new Error(`capture broker: condition not met within ${timeoutMs} ms; requests seen: ${seen}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          const response = this.#handle(frame);
          if (response !== null) socket.write(response);
        }
      } catch {
        socket.destroy();
      }
    });
  }

  #handle(frame: Buffer): Buffer | null {
    const r = new ByteReader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    const clientId = r.nullableString();
    this.requests.push({ apiKey, apiVersion });
    const w = new ByteWriter(256);
    w.int32(0); // size, patched below
    w.int32(correlationId);
    switch (apiKey) {
      case API_VERSIONS:
        this.#apiVersions(w, apiVersion);
        break;
      case METADATA:
        this.#metadata(r, w);
        break;
      case PRODUCE:
        if (apiVersion < 3) return null;
        if (!this.#produce(r, w, apiVersion, clientId)) return null;
        break;
      default:
        return null; // unexpected: let the client time out rather than guess a layout
    }
    const out = Buffer.from(w.finish());
    out.writeInt32BE(out.length - 4, 0);
    return out;
  }

  #apiVersions(w: ByteWriter, version: number): void {
    if (version > 3) {
      // KIP-511: answer v0 with UNSUPPORTED_VERSION and our ranges; the client retries lower.
      w.int16(35).int32(SUPPORTED.length);
      for (const [k, min, max] of SUPPORTED) w.int16(k).int16(min).int16(max);
      return;
    }
    w.int16(0);
    if (version >= 3) {
      w.unsignedVarint(SUPPORTED.length + 1);
      for (const [k, min, max] of SUPPORTED) w.int16(k).int16(min).int16(max).unsignedVarint(0);
      w.int32(0).unsignedVarint(0);
      return;
    }
    w.int32(SUPPORTED.length);
    for (const [k, min, max] of SUPPORTED) w.int16(k).int16(min).int16(max);
    if (version >= 1) w.int32(0);
  }

  #metadata(r: ByteReader, w: ByteWriter): void {
    const n = r.int32();
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(r.string());
    w.int32(1).int32(0).string('127.0.0.1').int32(this.port).nullableString(null);
    w.int32(0); // controller id
    w.int32(topics.length);
    for (const t of topics) {
      w.int16(0).string(t).bool(false).int32(this.partitions);
      for (let p = 0; p < this.partitions; p++) {
        w.int16(0).int32(p).int32(0);
        w.int32(1).int32(0); // replicas [0]
        w.int32(1).int32(0); // isr [0]
      }
    }
  }

  #produce(r: ByteReader, w: ByteWriter, version: number, clientId: string | null): boolean {
    const transactionalId = r.nullableString();
    const acks = r.int16();
    r.int32(); // timeout
    const acked: { topic: string; partitions: { index: number; baseOffset: bigint }[] }[] = [];
    const nTopics = r.int32();
    for (let t = 0; t < nTopics; t++) {
      const topic = r.string();
      const parts: { index: number; baseOffset: bigint }[] = [];
      const nParts = r.int32();
      for (let p = 0; p < nParts; p++) {
        const partition = r.int32();
        const records = r.nullableBytes();
        if (records !== null) {
          this.produced.push({
            apiVersion: version,
            clientId,
            transactionalId,
            acks,
            topic,
            partition,
            records: Buffer.from(records),
          });
        }
        parts.push({ index: partition, baseOffset: this.#nextOffset });
        this.#nextOffset += 1000n;
      }
      acked.push({ topic, partitions: parts });
    }
    this.#notify();
    if (acks === 0) return false;
    w.int32(acked.length);
    for (const t of acked) {
      w.string(t.topic).int32(t.partitions.length);
      for (const p of t.partitions) {
        w.int32(p.index).int16(0).int64(p.baseOffset).int64(-1n);
        if (version >= 5) w.int64(0n);
      }
    }
    w.int32(0); // throttle
    return true;
  }

  #notify(): void {
    const ready = this.#waiters.filter((w) => w.pred());
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
