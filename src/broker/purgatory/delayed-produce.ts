import { ErrorCode } from '../../protocol/error-codes.js';
import type { Partition } from '../partition.js';
import type { ProducePartitionResult } from '../replica-manager.js';
import { DelayedOperation } from './delayed-operation.js';

/**
 * acks=all: waits until the high watermark passes every partition's last appended offset. When it
 * does but the ISR shrank below min.insync.replicas meanwhile, the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is written, but not as durably as asked).
 */
export class DelayedProduce extends DelayedOperation {
  constructor(
    timeoutMs: number,
    private readonly waitFor: Map<string, { partition: Partition; requiredOffset: bigint; minIsr: number }>,
    private readonly results: Map<string, ProducePartitionResult>,
    private readonly done: () => void,
  ) {
    super(timeoutMs);
  }

  tryComplete(): boolean {
    for (const { partition, requiredOffset } of this.waitFor.values()) {
      if (partition.isLeader && !partition.isClosed && partition.highWatermark < requiredOffset) return false;
    }
    return this.forceComplete();
  }

  protected override onExpiration(): void {
    for (const [key, { partition, requiredOffset }] of this.waitFor) {
      if (partition.highWatermark < requiredOffset) {
        const r = this.results.get(key)!;
        // As Kafka's DelayedProduce: the code alone, no error_message.
        r.errorCode = ErrorCode.REQUEST_TIMED_OUT;
        r.errorMessage = null;
      }
    }
  }

  protected onComplete(): void {
    for (const [key, { partition, requiredOffset, minIsr }] of this.waitFor) {
      const r = this.results.get(key)!;
      if (r.errorCode !== ErrorCode.NONE) continue;
      if (partition.highWatermark < requiredOffset) {
        r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        r.errorMessage = null;
      } else if (partition.isLeader && partition.isr.length < minIsr) {
        r.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        r.errorMessage = null;
      }
    }
    this.done();
  }
}
