/**
 * DelayedHeartbeat (Kafka's): a member's session deadline. One waits in the heartbeat purgatory per
 * member under the member's key; each heartbeat (or other proof of life) completes it and schedules
 * the next one. When it expires without a heartbeat, the member has failed: it leaves the group and
 * the group rebalances. A new member that has not finished its first join gets the longer
 * new-member timeout instead of its session timeout, so a client that disconnects mid-join goes away.
 */
import { DelayedOperation } from '../purgatory/delayed-operation.js';
import type { GroupMetadata } from './group-metadata.js';
import type { MemberMetadata } from './member-metadata.js';

export interface HeartbeatExpirer {
  /** The session expired: remove the member (if it is still the same member generation). */
  onExpireHeartbeat(group: GroupMetadata, memberId: string, heartbeatGeneration: number): void;
}

export class DelayedHeartbeat extends DelayedOperation {
  constructor(
    readonly coordinator: HeartbeatExpirer,
    readonly group: GroupMetadata,
    readonly member: MemberMetadata,
    readonly heartbeatGeneration: number,
    timeoutMs: number,
    nowMs: number,
  ) {
    super(timeoutMs, nowMs);
  }

  /** Completed early when a newer deadline replaced this one or the member left. */
  tryComplete(): boolean {
    const superseded =
      this.member.heartbeatGeneration !== this.heartbeatGeneration ||
      !this.group.has(this.member.memberId) ||
      this.group.get(this.member.memberId) !== this.member;
    return superseded ? this.forceComplete() : false;
  }

  protected override onExpiration(): void {
    this.coordinator.onExpireHeartbeat(this.group, this.member.memberId, this.heartbeatGeneration);
  }

  protected onComplete(): void {}
}

/** A MEMBER_ID_REQUIRED member id that must come back within the session timeout (KIP-394). */
export class DelayedPendingMember extends DelayedOperation {
  constructor(
    readonly onExpire: () => void,
    readonly isDone: () => boolean,
    timeoutMs: number,
    nowMs: number,
  ) {
    super(timeoutMs, nowMs);
  }

  tryComplete(): boolean {
    return this.isDone() ? this.forceComplete() : false;
  }

  protected override onExpiration(): void {
    this.onExpire();
  }

  protected onComplete(): void {}
}
