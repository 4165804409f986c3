/**
 * GroupCoordinator: Kafka's classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
 * offset commits and fetches, and the admin views (describe, list, delete) for the groups whose
 * __consumer_offsets partition this broker leads.
 *
 * Lifecycle and ownership:
 *  - The coordinator owns every GroupMetadata in memory and drives its state machine; the
 *    GroupStore (GroupMetadataManager) persists what must survive (group metadata after each
 *    completed join/sync, offsets) and reads it back when a partition's leadership arrives.
 *  - Waiting requests are callbacks on the members (MemberMetadata.awaitingJoin/awaitingSync), so a
 *    JoinGroup handler simply awaits a promise the coordinator resolves.
 *  - Time: the join phase (DelayedJoin, InitialDelayedJoin) and member sessions (DelayedHeartbeat)
 *    wait in delayed-operation purgatories on one timing wheel with an injectable clock, so the
 *    state machine runs under fake time in unit tests.
 *  - Everything runs on the event loop; across an await (a store), the code re-checks that the
 *    group is still in the generation and state it was in before acting, as Kafka does.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { DelayedOperationPurgatory } from '../purgatory/delayed-operation.js';
import { TimingWheelTimer } from '../purgatory/timing-wheel.js';
import { GroupMetadata, GroupState, offsetKey, supersedes, type CommittedOffset } from './group-metadata.js';
import {
  MemberMetadata,
  type GroupProtocol,
  type JoinGroupResult,
  type SyncGroupResult,
} from './member-metadata.js';
import { DelayedJoin, InitialDelayedJoin, type JoinCompleter } from './delayed-join.js';
import { DelayedHeartbeat, DelayedPendingMember, type HeartbeatExpirer } from './delayed-heartbeat.js';
import type { GroupStore, LoadedGroup } from './group-metadata-manager.js';
import type { GroupMetadataValue } from './group-records.js';

export interface GroupConfig {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  initialRebalanceDelayMs: number;
  maxSize: number;
  /** A member that never completes its first join is dropped after this (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
}

export interface JoinGroupRequestData {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  /** JoinGroup v4+ without a group.instance.id: a new member first gets MEMBER_ID_REQUIRED (KIP-394). */
  requireKnownMemberId: boolean;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  reason?: string | null;
}

export interface SyncGroupRequestData {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface OffsetCommitData {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  expireTimestamp: bigint;
}

export interface GroupSummary {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

export interface CoordinatorHooks {
  onRebalance?(groupId: string): void;
  onOffsetCommit?(groupId: string, count: number): void;
}

export const DEFAULT_GROUP_CONFIG: GroupConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxSize: 2_147_483_647,
  newMemberJoinTimeoutMs: 300_000,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
};

const joinError = (memberId: string, errorCode: number): JoinGroupResult => ({
  errorCode,
  generationId: -1,
  protocolType: null,
  protocolName: null,
  leader: '',
  memberId,
  skipAssignment: false,
  members: [],
});

const syncError = (errorCode: number): SyncGroupResult => ({
  errorCode,
  protocolType: null,
  protocolName: null,
  assignment: Buffer.alloc(0),
});

export class GroupCoordinator implements JoinCompleter, HeartbeatExpirer {
  readonly groups = new Map<string, GroupMetadata>();
  readonly config: GroupConfig;
  readonly #store: GroupStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly timer: TimingWheelTimer;
  readonly joinPurgatory: DelayedOperationPurgatory<DelayedJoin>;
  readonly heartbeatPurgatory: DelayedOperationPurgatory<DelayedHeartbeat | DelayedPendingMember>;
  readonly hooks: CoordinatorHooks;
  #active = false;
  #cleanupTimer: NodeJS.Timeout | null = null;

  constructor(opts: {
    store: GroupStore;
    log: Logger;
    config?: Partial<GroupConfig>;
    now?: () => number;
    timer?: TimingWheelTimer;
    hooks?: CoordinatorHooks;
  }) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.config = { ...DEFAULT_GROUP_CONFIG, ...opts.config };
    this.#now = opts.now ?? Date.now;
    this.timer = opts.timer ?? new TimingWheelTimer({ now: this.#now });
    this.joinPurgatory = new DelayedOperationPurgatory('Rebalance', this.timer);
    this.heartbeatPurgatory = new DelayedOperationPurgatory('Heartbeat', this.timer);
    this.hooks = opts.hooks ?? {};
  }

  get isActive(): boolean {
    return this.#active;
  }

  startup(opts: { cleanup?: boolean } = {}): void {
    this.#active = true;
    if (opts.cleanup !== false) {
      this.#cleanupTimer = setInterval(
        () => void this.cleanupGroupMetadata(),
        this.config.offsetsRetentionCheckIntervalMs,
      );
      this.#cleanupTimer.unref();
    }
  }

  /** Answer every waiting request with NOT_COORDINATOR and stop the timers (broker shutdown). */
  shutdown(): void {
    this.#active = false;
    if (this.#cleanupTimer) clearInterval(this.#cleanupTimer);
    for (const g of this.groups.values()) this.#abortWaiting(g, ErrorCode.NOT_COORDINATOR);
    this.groups.clear();
    this.joinPurgatory.shutdown();
    this.heartbeatPurgatory.shutdown();
  }

  #abortWaiting(g: GroupMetadata, code: number): void {
    for (const m of g.members.values()) {
      g.completeJoin(m, joinError(m.memberId, code));
      m.completeSync(syncError(code));
    }
  }

  // ---- validation shared by every request ----

  /** NONE when this broker may answer for the group now, else the error to return. */
  validateGroupStatus(groupId: string | null | undefined, requireNonEmptyId = true): number {
    if (groupId === null || groupId === undefined || (requireNonEmptyId && groupId === ''))
      return ErrorCode.INVALID_GROUP_ID;
    if (!this.#active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const s = this.#store.status(groupId);
    if (s === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (s === 'remote') return ErrorCode.NOT_COORDINATOR;
    return ErrorCode.NONE;
  }

  /** A request naming a member: FENCED_INSTANCE_ID when another member holds its instance id, UNKNOWN_MEMBER_ID when unknown. */
  #validateMember(g: GroupMetadata, memberId: string, groupInstanceId: string | null | undefined): number {
    if (groupInstanceId) {
      const holder = g.staticMemberId(groupInstanceId);
      if (holder !== undefined && holder !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return g.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---- JoinGroup ----

  handleJoinGroup(req: JoinGroupRequestData): Promise<JoinGroupResult> {
    return new Promise((resolve) => this.#join(req, resolve));
  }

  #join(req: JoinGroupRequestData, respond: (r: JoinGroupResult) => void): void {
    const status = this.validateGroupStatus(req.groupId);
    if (status !== ErrorCode.NONE) return respond(joinError(req.memberId, status));
    if (
      req.sessionTimeoutMs < this.config.minSessionTimeoutMs ||
      req.sessionTimeoutMs > this.config.maxSessionTimeoutMs
    ) {
      return respond(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isUnknown = req.memberId === '';
    let g = this.groups.get(req.groupId);
    if (!g) {
      // Only a new member may create a group; a member id for a group we do not know is stale.
      if (!isUnknown) return respond(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      g = new GroupMetadata(req.groupId, GroupState.Empty, this.#now());
      this.groups.set(req.groupId, g);
    }
    if (g.is(GroupState.Dead)) return respond(joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    // group.max.size: a new member cannot join a full group (a known member may rejoin).
    if (
      isUnknown &&
      !g.staticMemberId(req.groupInstanceId) &&
      g.size + g.pendingMembers.size >= this.config.maxSize
    ) {
      return respond(joinError(req.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    if (!g.supportsProtocols(req.protocolType, req.protocols)) {
      this.#removeIfEmptyAndNew(g);
      return respond(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (isUnknown) this.#newMemberJoin(g, req, respond);
    else this.#currentMemberJoin(g, req, respond);
  }

  /** A group made by a join that was then refused must not linger. */
  #removeIfEmptyAndNew(g: GroupMetadata): void {
    if (
      g.is(GroupState.Empty) &&
      g.size === 0 &&
      g.generationId === 0 &&
      g.offsets.size === 0 &&
      g.pendingMembers.size === 0
    )
      this.groups.delete(g.groupId);
  }

  #newMemberJoin(g: GroupMetadata, req: JoinGroupRequestData, respond: (r: JoinGroupResult) => void): void {
    const newMemberId = `${req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldId = g.staticMemberId(req.groupInstanceId);
      if (oldId !== undefined) return this.#staticMemberRejoin(g, req, oldId, newMemberId, respond);
      return this.#addMemberAndRebalance(g, req, newMemberId, respond);
    }
    if (req.requireKnownMemberId) {
      // KIP-394: hand out the id first; the member must come back with it within its session.
      g.pendingMembers.add(newMemberId);
      const op = new DelayedPendingMember(
        () => {
          if (g.pendingMembers.delete(newMemberId)) {
            this.#log.info(
              { groupId: g.groupId, memberId: newMemberId },
              'pending member did not rejoin in time',
            );
            if (g.is(GroupState.PreparingRebalance)) this.joinPurgatory.checkAndComplete(g.groupId);
            this.#removeIfEmptyAndNew(g);
          }
        },
        () => !g.pendingMembers.has(newMemberId),
        req.sessionTimeoutMs,
        this.#now(),
      );
      this.heartbeatPurgatory.tryCompleteElseWatch(op, [`${g.groupId}\u0000${newMemberId}`]);
      return respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.#addMemberAndRebalance(g, req, newMemberId, respond);
  }

  #currentMemberJoin(
    g: GroupMetadata,
    req: JoinGroupRequestData,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const memberId = req.memberId;
    if (g.pendingMembers.has(memberId)) {
      // Back with the id MEMBER_ID_REQUIRED gave it.
      this.#addMemberAndRebalance(g, req, memberId, respond);
      this.heartbeatPurgatory.checkAndComplete(`${g.groupId}\u0000${memberId}`);
      return;
    }
    const err = this.#validateMember(g, memberId, req.groupInstanceId);
    if (err !== ErrorCode.NONE) return respond(joinError(memberId, err));
    const member = g.get(memberId)!;
    switch (g.state) {
      case GroupState.PreparingRebalance:
        this.#updateMemberAndRebalance(g, member, req, respond);
        break;
      case GroupState.CompletingRebalance:
        if (member.matches(req.protocols)) {
          // A retried join: answer with the generation it is already in.
          respond(this.#joinResult(g, member, g.isLeader(memberId)));
        } else this.#updateMemberAndRebalance(g, member, req, respond);
        break;
      case GroupState.Stable:
        if (g.isLeader(memberId) || !member.matches(req.protocols)) {
          // The leader rejoining, or metadata changing (subscription, owned partitions), rebalances.
          this.#updateMemberAndRebalance(g, member, req, respond);
        } else {
          respond(this.#joinResult(g, member, false));
        }
        break;
      default:
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #joinResult(g: GroupMetadata, member: MemberMetadata, asLeader: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      memberId: member.memberId,
      skipAssignment: false,
      members: asLeader ? g.currentMemberMetadata() : [],
    };
  }

  /** KIP-345: a known group.instance.id came back with no member id (a restarted static member). */
  #staticMemberRejoin(
    g: GroupMetadata,
    req: JoinGroupRequestData,
    oldId: string,
    newId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const old = g.get(oldId)!;
    // Whoever used the old id is fenced.
    g.completeJoin(old, joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    old.completeSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = g.replaceStaticMember(req.groupInstanceId!, oldId, newId);
    const oldProtocols = member.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    this.#log.info(
      { groupId: g.groupId, groupInstanceId: req.groupInstanceId, oldId, newId },
      'static member rejoined with a new member id',
    );
    if (g.is(GroupState.Stable)) {
      member.protocols = req.protocols;
      if (g.candidateProtocols().length > 0 && g.selectProtocol() === g.protocolName) {
        // The group's protocol stays: keep every assignment, no rebalance; persist the new id. A
        // leader gets the member list with skipAssignment (v9+), as Kafka answers it.
        const generation = g.generationId;
        const isLeader = g.isLeader(newId);
        this.#scheduleHeartbeat(g, member);
        void this.#store.storeGroup(g.groupId, this.#groupValue(g)).then((code) => {
          if (code !== ErrorCode.NONE && g.get(newId) === member && g.generationId === generation) {
            // Could not persist: put the old id back so the old incarnation still matches the log.
            member.protocols = oldProtocols;
            g.replaceStaticMember(req.groupInstanceId!, newId, oldId);
            return respond(joinError(newId, code));
          }
          respond({ ...this.#joinResult(g, member, isLeader), skipAssignment: isLeader });
        });
        return;
      }
    }
    this.#updateMemberAndRebalance(g, member, req, respond);
  }

  #addMemberAndRebalance(
    g: GroupMetadata,
    req: JoinGroupRequestData,
    memberId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const member = new MemberMetadata({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
    });
    member.isNew = true;
    // An Empty group waiting out the initial delay waits again when members keep arriving.
    if (g.is(GroupState.PreparingRebalance) && g.generationId === 0) g.newMemberAdded = true;
    g.add(member, respond);
    // A new member that never finishes joining (client gone) is dropped after the new-member timeout.
    this.#scheduleHeartbeat(g, member, this.config.newMemberJoinTimeoutMs);
    this.#maybePrepareRebalance(g, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
  }

  #updateMemberAndRebalance(
    g: GroupMetadata,
    member: MemberMetadata,
    req: JoinGroupRequestData,
    respond: (r: JoinGroupResult) => void,
  ): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    // A second JoinGroup from the same member replaces the first (its connection was likely lost).
    if (member.awaitingJoin)
      g.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    g.setAwaitingJoin(member, respond);
    this.#maybePrepareRebalance(
      g,
      `member ${member.memberId} rejoined${req.reason ? ` (${req.reason})` : ''}`,
    );
  }

  #maybePrepareRebalance(g: GroupMetadata, reason: string): void {
    if (g.is(GroupState.Stable) || g.is(GroupState.CompletingRebalance) || g.is(GroupState.Empty))
      this.#prepareRebalance(g, reason);
    else if (g.is(GroupState.PreparingRebalance)) this.joinPurgatory.checkAndComplete(g.groupId);
  }

  #prepareRebalance(g: GroupMetadata, reason: string): void {
    // Members waiting for an assignment of the generation being abandoned must rejoin.
    if (g.is(GroupState.CompletingRebalance)) {
      for (const m of g.members.values()) {
        m.assignment = Buffer.alloc(0);
        m.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    const now = this.#now();
    const join =
      g.is(GroupState.Empty) && this.config.initialRebalanceDelayMs > 0
        ? new InitialDelayedJoin(
            this,
            g,
            Math.min(this.config.initialRebalanceDelayMs, g.rebalanceTimeoutMs),
            Math.max(0, g.rebalanceTimeoutMs - this.config.initialRebalanceDelayMs),
            this.config.initialRebalanceDelayMs,
            now,
          )
        : new DelayedJoin(this, g, g.rebalanceTimeoutMs, now);
    g.newMemberAdded = false;
    g.transitionTo(GroupState.PreparingRebalance, now);
    this.hooks.onRebalance?.(g.groupId);
    this.#log.info(
      { groupId: g.groupId, generationId: g.generationId, reason },
      'preparing to rebalance group',
    );
    this.joinPurgatory.tryCompleteElseWatch(join, [g.groupId]);
  }

  tryCompleteJoin(g: GroupMetadata, forceComplete: () => boolean): boolean {
    return g.hasAllMembersJoined() ? forceComplete() : false;
  }

  onInitialDelayExpired(join: InitialDelayedJoin): void {
    const g = join.group;
    if (!this.#active || this.groups.get(g.groupId) !== g || !g.is(GroupState.PreparingRebalance)) return;
    if (g.newMemberAdded && join.remainingMs > 0) {
      g.newMemberAdded = false;
      const delay = Math.min(join.configuredDelayMs, join.remainingMs);
      const next = new InitialDelayedJoin(
        this,
        g,
        delay,
        Math.max(0, join.remainingMs - delay),
        join.configuredDelayMs,
        this.#now(),
      );
      this.joinPurgatory.tryCompleteElseWatch(next, [g.groupId]);
    } else {
      this.onCompleteJoin(g);
    }
  }

  onCompleteJoin(g: GroupMetadata): void {
    if (!this.#active || this.groups.get(g.groupId) !== g || !g.is(GroupState.PreparingRebalance)) return;
    // Dynamic members that did not rejoin in time are out; static ones keep their place (KIP-345).
    for (const m of g.notYetRejoinedMembers()) {
      if (m.isStatic) continue;
      this.#log.info({ groupId: g.groupId, memberId: m.memberId }, 'removing member that did not rejoin');
      g.remove(m.memberId);
    }
    g.pendingMembers.clear();
    if (g.notYetRejoinedMembers().length > 0 && g.numAwaitingJoin === 0) {
      // Only absent static members remain: treat as empty of live members.
      for (const m of g.notYetRejoinedMembers()) g.remove(m.memberId);
    }
    // The leader must be someone waiting for the answer.
    if (g.leaderId === null || !g.get(g.leaderId)?.isAwaitingJoin) {
      g.leaderId = [...g.members.values()].find((m) => m.isAwaitingJoin)?.memberId ?? g.leaderId;
    }
    g.initNextGeneration(this.#now());
    if (g.is(GroupState.Empty)) {
      this.#log.info(
        { groupId: g.groupId, generationId: g.generationId },
        'group is empty after the join phase',
      );
      void this.#store.storeGroup(g.groupId, this.#groupValue(g));
      return;
    }
    this.#log.info(
      {
        groupId: g.groupId,
        generationId: g.generationId,
        protocol: g.protocolName,
        members: g.size,
        leader: g.leaderId,
      },
      'join phase complete',
    );
    for (const m of g.members.values()) {
      if (!m.isAwaitingJoin) continue;
      g.completeJoin(m, this.#joinResult(g, m, g.isLeader(m.memberId)));
      m.isNew = false;
      this.#scheduleHeartbeat(g, m);
    }
  }

  // ---- heartbeats and sessions ----

  /** Replace the member's session deadline with a fresh one. */
  #scheduleHeartbeat(g: GroupMetadata, m: MemberMetadata, timeoutMs = m.sessionTimeoutMs): void {
    m.heartbeatGeneration++;
    m.heartbeatSatisfied = false;
    const key = `${g.groupId}\u0000${m.memberId}`;
    this.heartbeatPurgatory.checkAndComplete(key);
    this.heartbeatPurgatory.tryCompleteElseWatch(
      new DelayedHeartbeat(this, g, m, m.heartbeatGeneration, timeoutMs, this.#now()),
      [key],
    );
  }

  onExpireHeartbeat(g: GroupMetadata, memberId: string, heartbeatGeneration: number): void {
    if (!this.#active || this.groups.get(g.groupId) !== g) return;
    const m = g.get(memberId);
    if (!m || m.heartbeatGeneration !== heartbeatGeneration || m.hasSatisfiedHeartbeat) return;
    this.#log.info(
      { groupId: g.groupId, memberId, state: g.state, sessionTimeoutMs: m.sessionTimeoutMs },
      'member session expired; removing it from the group',
    );
    this.#removeMemberAndUpdateGroup(g, m, `session of ${memberId} expired`);
  }

  #removeMemberAndUpdateGroup(g: GroupMetadata, m: MemberMetadata, reason: string): void {
    g.completeJoin(m, joinError(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    m.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    g.remove(m.memberId);
    m.heartbeatGeneration++;
    this.heartbeatPurgatory.checkAndComplete(`${g.groupId}\u0000${m.memberId}`);
    switch (g.state) {
      case GroupState.Stable:
      case GroupState.CompletingRebalance:
        this.#prepareRebalance(g, reason);
        break;
      case GroupState.PreparingRebalance:
        this.joinPurgatory.checkAndComplete(g.groupId);
        break;
      default:
        break;
    }
  }

  handleHeartbeat(req: {
    groupId: string;
    memberId: string;
    groupInstanceId: string | null;
    generationId: number;
  }): number {
    const status = this.validateGroupStatus(req.groupId);
    if (status !== ErrorCode.NONE) return status;
    const g = this.groups.get(req.groupId);
    if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (g.is(GroupState.Empty)) return ErrorCode.UNKNOWN_MEMBER_ID;
    const err = this.#validateMember(g, req.memberId, req.groupInstanceId);
    if (err !== ErrorCode.NONE) return err;
    const m = g.get(req.memberId)!;
    if (g.is(GroupState.PreparingRebalance)) {
      this.#scheduleHeartbeat(g, m);
      return ErrorCode.REBALANCE_IN_PROGRESS;
    }
    if (req.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // Stable, or CompletingRebalance (members may heartbeat between their join and sync answers).
    this.#scheduleHeartbeat(g, m);
    return ErrorCode.NONE;
  }

  // ---- SyncGroup ----

  handleSyncGroup(req: SyncGroupRequestData): Promise<SyncGroupResult> {
    return new Promise((resolve) => this.#sync(req, resolve));
  }

  #sync(req: SyncGroupRequestData, respond: (r: SyncGroupResult) => void): void {
    const status = this.validateGroupStatus(req.groupId);
    if (status !== ErrorCode.NONE) return respond(syncError(status));
    const g = this.groups.get(req.groupId);
    if (!g) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (g.is(GroupState.Dead)) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const err = this.#validateMember(g, req.memberId, req.groupInstanceId);
    if (err !== ErrorCode.NONE) return respond(syncError(err));
    if (req.generationId !== g.generationId) return respond(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (
      (req.protocolType && req.protocolType !== g.protocolType) ||
      (req.protocolName && req.protocolName !== g.protocolName)
    ) {
      return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = g.get(req.memberId)!;
    switch (g.state) {
      case GroupState.Empty:
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case GroupState.PreparingRebalance:
        return respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case GroupState.CompletingRebalance: {
        member.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.#scheduleHeartbeat(g, member);
        if (!g.isLeader(req.memberId)) return;
        // The leader's assignment ends the rebalance once it is persisted.
        const generation = g.generationId;
        const assignments = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
        const value = this.#groupValue(g, assignments);
        void this.#store.storeGroup(g.groupId, value).then((code) => {
          if (
            this.groups.get(g.groupId) !== g ||
            !g.is(GroupState.CompletingRebalance) ||
            g.generationId !== generation
          )
            return;
          if (code !== ErrorCode.NONE) {
            for (const m of g.members.values()) {
              m.assignment = Buffer.alloc(0);
              m.completeSync(syncError(code));
            }
            this.#prepareRebalance(g, `storing the assignment failed (error ${code})`);
            return;
          }
          for (const m of g.members.values()) m.assignment = assignments.get(m.memberId) ?? Buffer.alloc(0);
          g.transitionTo(GroupState.Stable, this.#now());
          this.#log.info(
            { groupId: g.groupId, generationId: g.generationId, members: g.size },
            'group is stable',
          );
          for (const m of g.members.values()) {
            m.completeSync({
              errorCode: ErrorCode.NONE,
              protocolType: g.protocolType,
              protocolName: g.protocolName,
              assignment: m.assignment,
            });
          }
        });
        return;
      }
      case GroupState.Stable:
        this.#scheduleHeartbeat(g, member);
        return respond({
          errorCode: ErrorCode.NONE,
          protocolType: g.protocolType,
          protocolName: g.protocolName,
          assignment: member.assignment,
        });
      default:
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #groupValue(g: GroupMetadata, assignments?: Map<string, Buffer>): GroupMetadataValue {
    const members = g.toStoredMembers();
    if (assignments) for (const m of members) m.assignment = assignments.get(m.memberId) ?? Buffer.alloc(0);
    return {
      protocolType: g.protocolType ?? '',
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.leaderId,
      currentStateTimestamp: BigInt(g.currentStateTimestamp),
      members,
    };
  }

  // ---- LeaveGroup ----

  handleLeaveGroup(
    groupId: string,
    leaving: { memberId: string; groupInstanceId: string | null }[],
  ): {
    errorCode: number;
    members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
  } {
    const status = this.validateGroupStatus(groupId);
    if (status !== ErrorCode.NONE) return { errorCode: status, members: [] };
    const g = this.groups.get(groupId);
    if (!g)
      return {
        errorCode: ErrorCode.NONE,
        members: leaving.map((l) => ({ ...l, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    if (g.is(GroupState.Dead)) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results = leaving.map((l) => {
      // v3+ lets a static member leave by instance id alone.
      let memberId = l.memberId;
      if (memberId === '' && l.groupInstanceId) memberId = g.staticMemberId(l.groupInstanceId) ?? '';
      if (g.pendingMembers.delete(memberId)) {
        this.heartbeatPurgatory.checkAndComplete(`${g.groupId}\u0000${memberId}`);
        if (g.is(GroupState.PreparingRebalance)) this.joinPurgatory.checkAndComplete(g.groupId);
        return { ...l, errorCode: ErrorCode.NONE };
      }
      const err = this.#validateMember(g, memberId, l.groupInstanceId);
      if (err !== ErrorCode.NONE) return { ...l, errorCode: err };
      const m = g.get(memberId)!;
      this.#log.info({ groupId, memberId, groupInstanceId: l.groupInstanceId }, 'member left the group');
      this.#removeMemberAndUpdateGroup(g, m, `member ${memberId} left`);
      return { ...l, errorCode: ErrorCode.NONE };
    });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  // ---- offsets ----

  /** Per-partition error codes keyed by offsetKey(topic, partition). */
  async handleCommitOffsets(req: {
    groupId: string;
    memberId: string;
    groupInstanceId: string | null;
    generationId: number;
    offsets: OffsetCommitData[];
  }): Promise<Map<string, number>> {
    const all = (code: number) => new Map(req.offsets.map((o) => [offsetKey(o.topic, o.partition), code]));
    const status = this.validateGroupStatus(req.groupId);
    if (status !== ErrorCode.NONE) return all(status);
    let g = this.groups.get(req.groupId);
    if (!g) {
      // A consumer using assign() (no group management) commits with generation -1 to a group of its own.
      if (req.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      g = new GroupMetadata(req.groupId, GroupState.Empty, this.#now());
      this.groups.set(req.groupId, g);
    }
    if (g.is(GroupState.Dead)) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.groupInstanceId) {
      const holder = g.staticMemberId(req.groupInstanceId);
      if (holder !== undefined && holder !== req.memberId) return all(ErrorCode.FENCED_INSTANCE_ID);
    }
    if (!(req.generationId < 0 && g.is(GroupState.Empty))) {
      if (g.is(GroupState.CompletingRebalance)) return all(ErrorCode.REBALANCE_IN_PROGRESS);
      if (!g.has(req.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
      if (req.generationId !== g.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      this.#scheduleHeartbeat(g, g.get(req.memberId)!);
    }
    const { results, toStore } = this.#offsetsToStore(req.offsets);
    if (toStore.length === 0) return results;
    const code = await this.#store.storeOffsets(req.groupId, toStore);
    for (const o of toStore) results.set(offsetKey(o.topic, o.partition), code);
    if (code === ErrorCode.NONE && this.groups.get(req.groupId) === g && !g.is(GroupState.Dead)) {
      for (const o of toStore) {
        const k = offsetKey(o.topic, o.partition);
        if (supersedes(o, g.offsets.get(k))) g.offsets.set(k, o);
      }
      this.hooks.onOffsetCommit?.(req.groupId, toStore.length);
    }
    return results;
  }

  // ---- transactional offsets (KIP-98, KIP-447) ----

  /**
   * Transactional offset commits written but not yet committed or aborted by their marker:
   * group id → producer id → offsetKey → offset.
   */
  readonly #pendingTxnOffsets = new Map<string, Map<bigint, Map<string, CommittedOffset>>>();

  /**
   * TxnOffsetCommit: check the group (KIP-447: member id, generation and group instance id when the
   * client sends them), write the offsets as the producer's transactional batch and stage them
   * until the transaction's marker lands on the group's `__consumer_offsets` partition
   * (onTransactionCompleted). Per-partition error codes keyed by offsetKey(topic, partition).
   */
  async handleTxnCommitOffsets(req: {
    groupId: string;
    producerId: bigint;
    producerEpoch: number;
    memberId: string;
    groupInstanceId: string | null;
    generationId: number;
    offsets: OffsetCommitData[];
  }): Promise<Map<string, number>> {
    const all = (code: number) => new Map(req.offsets.map((o) => [offsetKey(o.topic, o.partition), code]));
    const status = this.validateGroupStatus(req.groupId);
    if (status !== ErrorCode.NONE) return all(status);
    let g = this.groups.get(req.groupId);
    if (!g) {
      // Kafka creates the group: a transactional producer may commit for a group no consumer joined.
      g = new GroupMetadata(req.groupId, GroupState.Empty, this.#now());
      this.groups.set(req.groupId, g);
    }
    if (g.is(GroupState.Dead)) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.groupInstanceId) {
      const holder = g.staticMemberId(req.groupInstanceId);
      if (holder !== undefined && holder !== req.memberId) return all(ErrorCode.FENCED_INSTANCE_ID);
    }
    if (req.memberId !== '' && !g.has(req.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId >= 0 && req.generationId !== g.generationId)
      return all(ErrorCode.ILLEGAL_GENERATION);
    const store = this.#store;
    if (!store.storeTxnOffsets) return all(ErrorCode.UNSUPPORTED_VERSION);
    const { results, toStore } = this.#offsetsToStore(req.offsets);
    if (toStore.length === 0) return results;
    const code = await store.storeTxnOffsets(req.groupId, req.producerId, req.producerEpoch, toStore);
    for (const o of toStore) results.set(offsetKey(o.topic, o.partition), code);
    if (code === ErrorCode.NONE) this.#stageTxnOffsets(req.groupId, req.producerId, toStore);
    return results;
  }

  /**
   * The offsets of a commit (plain or transactional) as stored, stamped now; those whose metadata is
   * over offset.metadata.max.bytes are answered OFFSET_METADATA_TOO_LARGE instead.
   */
  #offsetsToStore(offsets: readonly OffsetCommitData[]): {
    results: Map<string, number>;
    toStore: CommittedOffset[];
  } {
    const results = new Map<string, number>();
    const now = BigInt(this.#now());
    const toStore: CommittedOffset[] = [];
    for (const o of offsets) {
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > this.config.offsetMetadataMaxBytes) {
        results.set(offsetKey(o.topic, o.partition), ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      toStore.push({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata ?? '',
        commitTimestamp: now,
        expireTimestamp: o.expireTimestamp,
      });
    }
    return { results, toStore };
  }

  #stageTxnOffsets(groupId: string, producerId: bigint, offsets: CommittedOffset[]): void {
    let byProducer = this.#pendingTxnOffsets.get(groupId);
    if (!byProducer) this.#pendingTxnOffsets.set(groupId, (byProducer = new Map()));
    let staged = byProducer.get(producerId);
    if (!staged) byProducer.set(producerId, (staged = new Map()));
    for (const o of offsets) staged.set(offsetKey(o.topic, o.partition), o);
  }

  /**
   * The transaction marker of `producerId` was written to `__consumer_offsets` partition
   * `offsetsPartition` (WriteTxnMarkers): apply (COMMIT) or drop (ABORT) the producer's staged
   * offset commits of every group on that partition.
   */
  onTransactionCompleted(offsetsPartition: number, producerId: bigint, result: 'COMMIT' | 'ABORT'): void {
    for (const [groupId, byProducer] of this.#pendingTxnOffsets) {
      if (this.#store.partitionFor(groupId) !== offsetsPartition) continue;
      const staged = byProducer.get(producerId);
      if (!staged) continue;
      byProducer.delete(producerId);
      if (byProducer.size === 0) this.#pendingTxnOffsets.delete(groupId);
      if (result !== 'COMMIT') continue;
      const g = this.groups.get(groupId);
      if (!g || g.is(GroupState.Dead)) continue;
      // A plain commit written after this transaction's commit record stays (supersedes()).
      for (const [k, o] of staged) if (supersedes(o, g.offsets.get(k))) g.offsets.set(k, o);
      this.hooks.onOffsetCommit?.(groupId, staged.size);
    }
  }

  /** Is a transactional commit for the group's partition waiting for its marker (KIP-447)? */
  hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    const byProducer = this.#pendingTxnOffsets.get(groupId);
    if (!byProducer) return false;
    const k = offsetKey(topic, partition);
    for (const staged of byProducer.values()) if (staged.has(k)) return true;
    return false;
  }

  /** Committed offsets of a group; null topics means every partition the group has an offset for. */
  handleFetchOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[] | null,
  ): { errorCode: number; offsets: CommittedOffset[]; missing: { topic: string; partition: number }[] } {
    const status = this.validateGroupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, offsets: [], missing: [] };
    const g = this.groups.get(groupId);
    if (topics === null)
      return {
        errorCode: ErrorCode.NONE,
        offsets: g && !g.is(GroupState.Dead) ? [...g.offsets.values()] : [],
        missing: [],
      };
    const offsets: CommittedOffset[] = [];
    const missing: { topic: string; partition: number }[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        const o = g?.offsets.get(offsetKey(t.name, p));
        if (o) offsets.push(o);
        else missing.push({ topic: t.name, partition: p });
      }
    }
    return { errorCode: ErrorCode.NONE, offsets, missing };
  }

  // ---- admin views ----

  describeGroup(groupId: string): GroupSummary {
    const dead: GroupSummary = {
      errorCode: ErrorCode.NONE,
      groupId,
      state: GroupState.Dead,
      protocolType: '',
      protocol: '',
      members: [],
    };
    const status = this.validateGroupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return { ...dead, errorCode: status };
    const g = this.groups.get(groupId);
    if (!g) return dead;
    const stable = g.is(GroupState.Stable);
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocol: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable && g.protocolName ? m.metadataFor(g.protocolName) : Buffer.alloc(0),
        assignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  listGroups(states: string[]): {
    errorCode: number;
    groups: { groupId: string; protocolType: string; state: string }[];
  } {
    if (!this.#active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const wanted = new Set(states.map((s) => s.toLowerCase()));
    const groups = [...this.groups.values()]
      .filter((g) => this.#store.status(g.groupId) === 'local' && !g.is(GroupState.Dead))
      .filter((g) => wanted.size === 0 || wanted.has(g.state.toLowerCase()))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state }));
    return { errorCode: ErrorCode.NONE, groups };
  }

  async deleteGroups(groupIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of groupIds) {
      const status = this.validateGroupStatus(id);
      if (status !== ErrorCode.NONE) {
        out.set(id, status);
        continue;
      }
      const g = this.groups.get(id);
      if (!g || g.is(GroupState.Dead)) {
        out.set(id, ErrorCode.GROUP_ID_NOT_FOUND);
        continue;
      }
      if (!g.is(GroupState.Empty)) {
        out.set(id, ErrorCode.NON_EMPTY_GROUP);
        continue;
      }
      g.transitionTo(GroupState.Dead, this.#now());
      const code = await this.#store.storeTombstones(id, [...g.offsets.values()], true);
      if (this.groups.get(id) === g) this.groups.delete(id);
      this.#log.info({ groupId: id, offsets: g.offsets.size }, 'deleted group');
      out.set(id, code);
    }
    return out;
  }

  async deleteOffsets(
    groupId: string,
    partitions: { topic: string; partition: number }[],
  ): Promise<{ errorCode: number; partitions: Map<string, number> }> {
    const status = this.validateGroupStatus(groupId);
    if (status !== ErrorCode.NONE) return { errorCode: status, partitions: new Map() };
    const g = this.groups.get(groupId);
    if (!g || g.is(GroupState.Dead))
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: new Map() };
    const results = new Map<string, number>();
    let subscribed: Set<string> | null = new Set();
    if (!g.is(GroupState.Empty)) {
      subscribed = g.subscribedTopics();
      // A non-consumer group with members: we cannot tell what it uses, so it is not deletable.
      if (subscribed === null) return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: new Map() };
    }
    const doomed: { topic: string; partition: number }[] = [];
    for (const p of partitions) {
      const k = offsetKey(p.topic, p.partition);
      if (subscribed.has(p.topic)) results.set(k, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
      else {
        results.set(k, ErrorCode.NONE);
        if (g.offsets.has(k)) doomed.push(p);
      }
    }
    if (doomed.length > 0) {
      const code = await this.#store.storeTombstones(groupId, doomed, false);
      if (code !== ErrorCode.NONE) return { errorCode: code, partitions: new Map() };
      for (const p of doomed) g.offsets.delete(offsetKey(p.topic, p.partition));
    }
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  // ---- offsets retention ----

  /**
   * Expire offsets (offsets.retention.minutes, KIP-211): for an Empty group, offsets committed more
   * than the retention ago (counted from when the group became empty, if later); for a consumer group
   * with members, offsets of topics none of them subscribes to. Explicit per-commit expiry (v1-v4
   * retention) wins. An Empty group left with no offsets is deleted.
   */
  async cleanupGroupMetadata(nowMs = this.#now()): Promise<number> {
    let expired = 0;
    for (const g of [...this.groups.values()]) {
      if (this.#store.status(g.groupId) !== 'local' || g.is(GroupState.Dead)) continue;
      const retention = BigInt(this.config.offsetsRetentionMs);
      const now = BigInt(nowMs);
      let doomed: CommittedOffset[] = [];
      if (g.is(GroupState.Empty)) {
        const base = (o: CommittedOffset) =>
          o.commitTimestamp > BigInt(g.currentStateTimestamp)
            ? o.commitTimestamp
            : BigInt(g.currentStateTimestamp);
        doomed = [...g.offsets.values()].filter((o) =>
          o.expireTimestamp >= 0n ? o.expireTimestamp <= now : base(o) + retention <= now,
        );
      } else if (g.is(GroupState.Stable)) {
        const subscribed = g.subscribedTopics();
        if (subscribed)
          doomed = [...g.offsets.values()].filter(
            (o) =>
              !subscribed.has(o.topic) &&
              (o.expireTimestamp >= 0n ? o.expireTimestamp <= now : o.commitTimestamp + retention <= now),
          );
      }
      const removeGroup = g.is(GroupState.Empty) && doomed.length === g.offsets.size && g.size === 0;
      if (doomed.length === 0 && !removeGroup) continue;
      for (const o of doomed) g.offsets.delete(offsetKey(o.topic, o.partition));
      if (removeGroup) {
        g.transitionTo(GroupState.Dead, nowMs);
        this.groups.delete(g.groupId);
      }
      expired += doomed.length;
      const code = await this.#store.storeTombstones(g.groupId, doomed, removeGroup);
      this.#log.info(
        { groupId: g.groupId, expired: doomed.length, groupRemoved: removeGroup, error: code },
        'expired offsets',
      );
    }
    return expired;
  }

  // ---- partition leadership ----

  /** Install the groups read back from a partition this broker now leads. */
  onGroupsLoaded(loaded: LoadedGroup[]): void {
    const now = this.#now();
    for (const l of loaded) {
      const g = new GroupMetadata(l.groupId, GroupState.Empty, now);
      for (const o of l.offsets) g.offsets.set(offsetKey(o.topic, o.partition), o);
      this.#pendingTxnOffsets.delete(l.groupId);
      for (const [pid, offs] of l.pendingTxnOffsets ?? []) this.#stageTxnOffsets(l.groupId, pid, offs);
      const v = l.metadata;
      if (v) {
        g.generationId = v.generation;
        g.protocolType = v.protocolType || null;
        g.protocolName = v.protocol;
        g.leaderId = v.leader;
        if (v.currentStateTimestamp >= 0n) g.currentStateTimestamp = Number(v.currentStateTimestamp);
        for (const sm of v.members) {
          const m = new MemberMetadata({
            memberId: sm.memberId,
            groupInstanceId: sm.groupInstanceId,
            clientId: sm.clientId,
            clientHost: sm.clientHost,
            rebalanceTimeoutMs: sm.rebalanceTimeoutMs,
            sessionTimeoutMs: sm.sessionTimeoutMs,
            protocolType: v.protocolType,
            protocols: v.protocol ? [{ name: v.protocol, metadata: sm.subscription }] : [],
          });
          m.assignment = sm.assignment;
          g.add(m);
        }
        g.leaderId = v.leader;
        if (g.size > 0) {
          // Loaded with members: Stable, as Kafka loads it; members that do not come back expire.
          g.transitionTo(GroupState.PreparingRebalance, now);
          g.transitionTo(GroupState.CompletingRebalance, now);
          g.transitionTo(
            GroupState.Stable,
            v.currentStateTimestamp >= 0n ? Number(v.currentStateTimestamp) : now,
          );
        }
      }
      this.groups.set(l.groupId, g);
      for (const m of g.members.values()) this.#scheduleHeartbeat(g, m);
    }
  }

  /** A partition moved away: its groups are someone else's now. */
  onPartitionUnloaded(partition: number): void {
    for (const g of [...this.groups.values()]) {
      if (this.#store.partitionFor(g.groupId) !== partition) continue;
      this.#abortWaiting(g, ErrorCode.NOT_COORDINATOR);
      this.groups.delete(g.groupId);
    }
    for (const id of [...this.#pendingTxnOffsets.keys()])
      if (this.#store.partitionFor(id) === partition) this.#pendingTxnOffsets.delete(id);
  }

  /** Groups by state, for metrics. */
  countByState(): Record<string, number> {
    const out: Record<string, number> = {
      Empty: 0,
      PreparingRebalance: 0,
      CompletingRebalance: 0,
      Stable: 0,
      Dead: 0,
    };
    for (const g of this.groups.values()) out[g.state] = (out[g.state] ?? 0) + 1;
    return out;
  }
}
