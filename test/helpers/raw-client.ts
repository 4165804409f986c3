/**
 * A Kafka connection for tests that need exact control of the bytes: the project's own
 * KafkaConnection (src/client) with unmatched frames kept, so a test can send typed requests at an
 * exact version (no ApiVersions handshake, nothing negotiated), write raw bytes (malformed frames
 * included), read response frames one by one, and see the broker close the connection
 * (`nextFrame()` → null, `closed`). Not a real client: no retries, no metadata.
 */
import { KafkaConnection } from '../../src/client/index.js';
import type { ApiKey, ApiMessages } from '../../src/protocol/messages/index.js';

export class RawClient {
  /** The connection underneath, for tests that need more (in-flight counts, close reasons). */
  readonly connection: KafkaConnection;

  private constructor(connection: KafkaConnection) {
    this.connection = connection;
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new RawClient(
      await KafkaConnection.connect({ host, port, clientId: 'sluice-test', keepUnmatchedFrames: true }),
    );
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  writeRaw(bytes: Buffer): void {
    this.connection.writeRaw(bytes);
  }

  /** Next response frame that answered no typed request, or null when the broker closed the connection first. */
  nextFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    return this.connection.nextFrame(timeoutMs);
  }

  /** A typed request at exactly `version`; rejects when the connection closes first. */
  request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs = 30_000,
  ): Promise<ApiMessages[K]['response']> {
    return this.connection.request(apiKey, version, body, timeoutMs);
  }

  close(): void {
    this.connection.close();
  }
}
