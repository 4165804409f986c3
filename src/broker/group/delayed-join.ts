/**
 * DelayedJoin and InitialDelayedJoin (Kafka's): the join phase of a rebalance, waiting in the join
 * purgatory under the group's key until every member has rejoined or the rebalance timeout passes.
 *
 * InitialDelayedJoin is used when an Empty group starts rebalancing: it waits
 * group.initial.rebalance.delay.ms, and again (up to the rebalance timeout in total) while new members
 * keep arriving, so a consumer fleet starting together gets one rebalance rather than one per member.
 */
import { DelayedOperation } from '../purgatory/delayed-operation.js';
import type { GroupMetadata } from './group-metadata.js';

export interface JoinCompleter {
  /** Whether the join phase can end now (all members in). */
  tryCompleteJoin(group: GroupMetadata, forceComplete: () => boolean): boolean;
  /** End the join phase: drop members that did not rejoin, start the next generation, answer joins. */
  onCompleteJoin(group: GroupMetadata): void;
  /** The initial delay passed: schedule another round or end the join phase. */
  onInitialDelayExpired(join: InitialDelayedJoin): void;
}

export class DelayedJoin extends DelayedOperation {
  constructor(
    readonly coordinator: JoinCompleter,
    readonly group: GroupMetadata,
    timeoutMs: number,
    nowMs: number,
  ) {
    super(timeoutMs, nowMs);
  }

  tryComplete(): boolean {
    return this.coordinator.tryCompleteJoin(this.group, () => this.forceComplete());
  }

  protected onComplete(): void {
    this.coordinator.onCompleteJoin(this.group);
  }
}

export class InitialDelayedJoin extends DelayedJoin {
  constructor(
    coordinator: JoinCompleter,
    group: GroupMetadata,
    readonly delayMs: number,
    /** What is left of the rebalance timeout after this delay. */
    readonly remainingMs: number,
    readonly configuredDelayMs: number,
    nowMs: number,
  ) {
    super(coordinator, group, delayMs, nowMs);
  }

  /** Never completes early: only the timer ends it. */
  override tryComplete(): boolean {
    return false;
  }

  protected override onComplete(): void {
    this.coordinator.onInitialDelayExpired(this);
  }
}
