import { DelayedOperation } from './delayed-operation.js';

/**
 * A fetch waiting for min bytes or max wait (Kafka's DelayedFetch). `availableBytes` says how much
 * its partitions hold for it now: the ReplicaManager counts what their byte counters gained since the
 * first read (appended bytes for a follower, bytes below the high watermark for a consumer), and
 * answers Infinity once a partition is gone, so the fetch completes with the error at once.
 */
export class DelayedFetch extends DelayedOperation {
  constructor(
    timeoutMs: number,
    private readonly availableBytes: () => number,
    private readonly minBytes: number,
    private readonly done: () => void,
  ) {
    super(timeoutMs);
  }

  tryComplete(): boolean {
    return this.availableBytes() >= this.minBytes ? this.forceComplete() : false;
  }

  protected onComplete(): void {
    this.done();
  }
}
