/**
 * GroupMetadata: one classic group's state (Kafka's GroupMetadata) — its members, generation,
 * chosen protocol, leader, committed offsets — and the state machine the coordinator drives:
 *
 *   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
 *     ▲                 ▲      │ (no members left)                               │ leader's SyncGroup
 *     └─────────────────┼──────┘                                                 ▼
 *                       └──────── member joins, leaves, fails, changes ◄─────── Stable
 *   any state ──delete / offsets expired / partition moved away──► Dead
 *
 * Pure: no I/O and no timers; the GroupCoordinator owns those and calls in here. The transitions
 * allowed are Kafka's (GroupMetadata.validPreviousStates); anything else is a bug and throws.
 */
import { MemberMetadata, type GroupProtocol } from './member-metadata.js';
import type { OffsetAndMetadata, StoredMember } from './group-records.js';
import { parseAssignment, parseSubscription, CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';

export enum GroupState {
  Empty = 'Empty',
  PreparingRebalance = 'PreparingRebalance',
  CompletingRebalance = 'CompletingRebalance',
  Stable = 'Stable',
  Dead = 'Dead',
}

const VALID_PREVIOUS: Record<GroupState, GroupState[]> = {
  [GroupState.Empty]: [GroupState.PreparingRebalance],
  [GroupState.PreparingRebalance]: [GroupState.Stable, GroupState.CompletingRebalance, GroupState.Empty],
  [GroupState.CompletingRebalance]: [GroupState.PreparingRebalance],
  [GroupState.Stable]: [GroupState.CompletingRebalance],
  [GroupState.Dead]: [
    GroupState.Stable,
    GroupState.PreparingRebalance,
    GroupState.CompletingRebalance,
    GroupState.Empty,
    GroupState.Dead,
  ],
};

export class IllegalStateTransition extends Error {
  override readonly name = 'IllegalStateTransition';
}

export interface CommittedOffset extends OffsetAndMetadata {
  topic: string;
  partition: number;
  /**
   * Where the commit's record sits in __consumer_offsets (Kafka's OffsetAndMetadata.recordOffset);
   * set once it is written, or read back. Unset only for commits that never went through a log.
   */
  recordOffset?: bigint;
}

/**
 * Kafka's rule for two commits of one partition (OffsetMetadataManager.replayEndTransactionMarker):
 * the one written later to __consumer_offsets wins, not the one applied later. A transactional
 * commit is applied when its marker comes, which may be after a plain commit that was written after
 * it; that plain commit must stay. Without both log offsets the later application wins.
 */
export function supersedes(candidate: CommittedOffset, current: CommittedOffset | undefined): boolean {
  if (current?.recordOffset === undefined || candidate.recordOffset === undefined) return true;
  return candidate.recordOffset > current.recordOffset;
}

export const offsetKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class GroupMetadata {
  readonly groupId: string;
  #state: GroupState;
  currentStateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, MemberMetadata>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined with them yet (KIP-394). */
  readonly pendingMembers = new Set<string>();
  /** group.instance.id → member id (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  readonly offsets = new Map<string, CommittedOffset>();
  /** An InitialDelayedJoin is running and a member joined since it was scheduled. */
  newMemberAdded = false;
  /** Members with a JoinGroup waiting (kept as a count so hasAllMembersJoined is O(1)). */
  #numMembersAwaitingJoin = 0;

  constructor(groupId: string, initialState: GroupState, nowMs: number) {
    this.groupId = groupId;
    this.#state = initialState;
    this.currentStateTimestamp = nowMs;
  }

  get state(): GroupState {
    return this.#state;
  }

  is(s: GroupState): boolean {
    return this.#state === s;
  }

  transitionTo(s: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS[s].includes(this.#state)) {
      throw new IllegalStateTransition(`group ${this.groupId} cannot move from ${this.#state} to ${s}`);
    }
    this.#state = s;
    this.currentStateTimestamp = nowMs;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): MemberMetadata | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get numAwaitingJoin(): number {
    return this.#numMembersAwaitingJoin;
  }

  /** Keep the count of members waiting in JoinGroup in step with their callbacks. */
  setAwaitingJoin(member: MemberMetadata, cb: MemberMetadata['awaitingJoin']): void {
    if (member.awaitingJoin && !cb) this.#numMembersAwaitingJoin--;
    else if (!member.awaitingJoin && cb) this.#numMembersAwaitingJoin++;
    member.awaitingJoin = cb;
  }

  completeJoin(member: MemberMetadata, r: Parameters<MemberMetadata['completeJoin']>[0]): boolean {
    if (!member.awaitingJoin) return false;
    this.#numMembersAwaitingJoin--;
    return member.completeJoin(r);
  }

  add(member: MemberMetadata, onJoin: MemberMetadata['awaitingJoin'] = null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    // The first member to join leads, until the join completes and a real leader is kept.
    this.leaderId ??= member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.pendingMembers.delete(member.memberId);
    if (onJoin) this.setAwaitingJoin(member, onJoin);
  }

  remove(memberId: string): MemberMetadata | undefined {
    const m = this.members.get(memberId);
    if (!m) return undefined;
    if (m.awaitingJoin) this.#numMembersAwaitingJoin--;
    this.members.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId)
      this.staticMembers.delete(m.groupInstanceId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return m;
  }

  /** A static member rejoined with a new member id: move its state to the new id. */
  replaceStaticMember(instanceId: string, oldId: string, newId: string): MemberMetadata {
    const m = this.members.get(oldId)!;
    this.members.delete(oldId);
    m.memberId = newId;
    this.members.set(newId, m);
    this.staticMembers.set(instanceId, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    return m;
  }

  staticMemberId(instanceId: string | null | undefined): string | undefined {
    return instanceId ? this.staticMembers.get(instanceId) : undefined;
  }

  /** Every member has rejoined and no one holds an unused member id from MEMBER_ID_REQUIRED. */
  hasAllMembersJoined(): boolean {
    return this.members.size === this.#numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  notYetRejoinedMembers(): MemberMetadata[] {
    return [...this.members.values()].filter((m) => !m.isAwaitingJoin);
  }

  get rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  /** Protocols every member supports. */
  candidateProtocols(): string[] {
    const all = [...this.members.values()];
    if (all.length === 0) return [];
    return all[0]!.protocols
      .map((p) => p.name)
      .filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
  }

  /** Can a member with these protocols join? (Kafka's isProtocolTypeAndProtocolsSupported) */
  supportsProtocols(protocolType: string, protocols: GroupProtocol[]): boolean {
    if (protocolType.length === 0 || protocols.length === 0) return false;
    if (this.is(GroupState.Empty) && this.members.size === 0) return true;
    if (this.protocolType !== protocolType) return false;
    const candidates = new Set(this.candidateProtocols());
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Each member votes for its most preferred candidate; most votes wins (first member's order breaks ties). */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    if (candidates.length === 0) throw new Error(`group ${this.groupId} has no protocol all members support`);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  /** Start the next generation after a join phase: CompletingRebalance with members, Empty without. */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo(GroupState.CompletingRebalance, nowMs);
    } else {
      this.protocolName = null;
      this.transitionTo(GroupState.Empty, nowMs);
    }
    for (const m of this.members.values()) m.assignment = Buffer.alloc(0);
  }

  /** The member list the leader gets in its JoinGroup response. */
  currentMemberMetadata(): { memberId: string; groupInstanceId: string | null; metadata: Buffer }[] {
    if (this.protocolName === null) return [];
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(this.protocolName!),
    }));
  }

  /** Topics the group's consumers subscribe to, or null when that cannot be known (not a consumer group). */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null)
      return this.members.size === 0 ? new Set() : null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const sub = parseSubscription(m.protocols.find((p) => p.name === this.protocolName)?.metadata);
      if (!sub) return null;
      for (const t of sub.topics) topics.add(t);
    }
    return topics;
  }

  /** Partitions assigned to each member in the current generation (consumer protocol only). */
  assignedPartitions(): { memberId: string; topic: string; partition: number }[] {
    const out: { memberId: string; topic: string; partition: number }[] = [];
    for (const m of this.members.values()) {
      for (const tp of parseAssignment(m.assignment)?.assignedPartitions ?? [])
        for (const p of tp.partitions) out.push({ memberId: m.memberId, topic: tp.topic, partition: p });
    }
    return out;
  }

  /** The record this group's metadata is persisted as. */
  toStoredMembers(): StoredMember[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: this.protocolName ? m.metadataFor(this.protocolName) : Buffer.alloc(0),
      assignment: m.assignment,
    }));
  }
}
