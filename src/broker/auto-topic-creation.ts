/**
 * AutoTopicCreationManager: Metadata's `auto.create.topics.enable` path, as Kafka 4.4's (KRaft)
 * AutoTopicCreationManager does it. A Metadata request naming topics that do not exist starts their
 * creation and answers at once with UNKNOWN_TOPIC_OR_PARTITION; the client's next metadata refresh
 * finds the topic. Creation is not awaited (a slow controller does not hold the Metadata response),
 * one creation per name is in flight at a time, and a failed creation is only logged: the client
 * keeps seeing UNKNOWN_TOPIC_OR_PARTITION, as with Kafka.
 */
import type { Logger } from '../common/logger.js';

export class AutoTopicCreationManager {
  readonly #create: (name: string) => Promise<void>;
  readonly #log: Logger;
  readonly #inflight = new Set<string>();

  constructor(o: { create: (name: string) => Promise<void>; log: Logger }) {
    this.#create = o.create;
    this.#log = o.log;
  }

  /** Start creating `name` unless a creation of it is already under way. */
  createTopic(name: string): void {
    if (this.#inflight.has(name)) return;
    this.#inflight.add(name);
    this.#log.info({ topic: name }, 'auto-creating topic');
    this.#create(name)
      .catch((err: unknown) => this.#log.warn({ topic: name, err }, 'auto topic creation failed'))
      .finally(() => this.#inflight.delete(name));
  }

  /** Names whose creation is under way (tests, shutdown). */
  get inflight(): ReadonlySet<string> {
    return this.#inflight;
  }
}
