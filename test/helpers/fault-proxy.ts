/**
 * A Kafka-aware TCP proxy for fault tests, on 127.0.0.1 with a free port. It forwards every byte
 * between a client and the broker, reading the frame headers on both sides so it knows which API
 * each response answers. A rule can "lose" responses: when the broker's response to a matching
 * request arrives, the proxy drops it and closes both connections instead of forwarding it, so the
 * broker has done the work but the client never hears of it and has to retry.
 *
 * Clients learn broker addresses from Metadata, so start the broker with `--advertise` set to the
 * proxy's address (the proxy listens first; its target port can be set later, before clients connect).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LoseResponsesRule {
  /** API key of the requests whose responses are lost (0 = Produce). */
  apiKey: number;
  /** How many responses to lose in total; after that everything passes. */
  count: number;
  /** Let this many matching responses through before losing any (default 0). */
  skip?: number;
}

export class FaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  targetPort = 0;
  readonly targetHost = '127.0.0.1';
  port = 0;
  #rule: LoseResponsesRule | null = null;
  /** Matching responses seen, and responses lost, since the rule was set. */
  #seen = 0;
  #lostByRule = 0;
  /** Responses the proxy dropped, by API key. */
  readonly lost: { apiKey: number; correlationId: number }[] = [];
  /** Requests forwarded, by API key. */
  readonly requests = new Map<number, number>();
  connections = 0;

  constructor() {
    this.#server = createServer((client) => this.#onClient(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = this.#server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy has no port');
    this.port = addr.port;
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  loseResponses(rule: LoseResponsesRule | null): void {
    this.#rule = rule;
    this.#seen = 0;
    this.#lostByRule = 0;
  }

  #onClient(client: Socket): void {
    this.connections++;
    const upstream = connect(this.targetPort, this.targetHost);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const apiKeyOf = new Map<number, number>();
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      this.#sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    // Client → broker: note each request's API key by correlation id, forward unchanged.
    const fromClient = new FrameSplitter((frame) => {
      if (frame.length >= 12) {
        const apiKey = frame.readInt16BE(4);
        apiKeyOf.set(frame.readInt32BE(8), apiKey);
        this.requests.set(apiKey, (this.requests.get(apiKey) ?? 0) + 1);
      }
      upstream.write(frame);
    });
    // Broker → client: lose the responses the rule names, forward the rest.
    const fromBroker = new FrameSplitter((frame) => {
      if (client.destroyed) return;
      const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1;
      const apiKey = apiKeyOf.get(correlationId);
      apiKeyOf.delete(correlationId);
      const rule = this.#rule;
      if (rule && apiKey === rule.apiKey && this.#lostByRule < rule.count) {
        this.#seen++;
        if (this.#seen > (rule.skip ?? 0)) {
          this.#lostByRule++;
          this.lost.push({ apiKey, correlationId });
          closeBoth();
          return;
        }
      }
      client.write(frame);
    });
    client.on('data', (d: Buffer) => fromClient.push(d));
    upstream.on('data', (d: Buffer) => fromBroker.push(d));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Splits a byte stream into whole Kafka frames (int32 size + body), each passed with its size prefix. */
class FrameSplitter {
  #buf: Buffer = Buffer.alloc(0);
  readonly #onFrame: (frame: Buffer) => void;

  constructor(onFrame: (frame: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  push(data: Buffer): void {
    this.#buf = this.#buf.length === 0 ? data : Buffer.concat([this.#buf, data]);
    while (this.#buf.length >= 4) {
      const size = this.#buf.readInt32BE(0);
      if (this.#buf.length < 4 + size) break;
      this.#onFrame(this.#buf.subarray(0, 4 + size));
      this.#buf = this.#buf.subarray(4 + size);
    }
  }
}
