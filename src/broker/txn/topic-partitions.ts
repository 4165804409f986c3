/**
 * A set of topic-partitions (the partitions of one transaction), kept per topic so it groups the
 * way `__transaction_state` records, markers and DescribeTransactions list them. Iteration is sorted
 * (topic, then partition) so what Sluice writes is deterministic.
 */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export class TopicPartitionSet {
  readonly #byTopic = new Map<string, Set<number>>();
  #size = 0;

  constructor(from?: Iterable<TopicPartition>) {
    if (from) for (const tp of from) this.add(tp.topic, tp.partition);
  }

  get size(): number {
    return this.#size;
  }

  add(topic: string, partition: number): void {
    let s = this.#byTopic.get(topic);
    if (!s) this.#byTopic.set(topic, (s = new Set()));
    if (!s.has(partition)) {
      s.add(partition);
      this.#size++;
    }
  }

  addAll(other: Iterable<TopicPartition>): void {
    for (const tp of other) this.add(tp.topic, tp.partition);
  }

  delete(topic: string, partition: number): boolean {
    const s = this.#byTopic.get(topic);
    if (!s?.delete(partition)) return false;
    if (s.size === 0) this.#byTopic.delete(topic);
    this.#size--;
    return true;
  }

  has(topic: string, partition: number): boolean {
    return this.#byTopic.get(topic)?.has(partition) ?? false;
  }

  containsAll(other: Iterable<TopicPartition>): boolean {
    for (const tp of other) if (!this.has(tp.topic, tp.partition)) return false;
    return true;
  }

  equals(other: TopicPartitionSet): boolean {
    return this.size === other.size && this.containsAll(other);
  }

  copy(): TopicPartitionSet {
    return new TopicPartitionSet(this);
  }

  /** Topic → sorted partitions, topics sorted. */
  byTopic(): { topic: string; partitions: number[] }[] {
    return [...this.#byTopic.keys()]
      .sort()
      .map((topic) => ({ topic, partitions: [...this.#byTopic.get(topic)!].sort((a, b) => a - b) }));
  }

  *[Symbol.iterator](): IterableIterator<TopicPartition> {
    for (const { topic, partitions } of this.byTopic())
      for (const partition of partitions) yield { topic, partition };
  }

  toString(): string {
    return `[${[...this].map((tp) => `${tp.topic}-${tp.partition}`).join(',')}]`;
  }
}
