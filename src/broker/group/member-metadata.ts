/**
 * MemberMetadata: one member of a classic group (Kafka's MemberMetadata). The coordinator owns it;
 * the pending JoinGroup/SyncGroup of the member is held here as a callback that answers the waiting
 * request, so at most one of each is outstanding per member.
 */
export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  skipAssignment: boolean;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export class MemberMetadata {
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: GroupProtocol[];
  assignment: Buffer = Buffer.alloc(0);
  awaitingJoin: ((r: JoinGroupResult) => void) | null = null;
  awaitingSync: ((r: SyncGroupResult) => void) | null = null;
  /** Joined but not yet answered by a completed join: gets the longer new-member timeout. */
  isNew = false;
  /** Set by a heartbeat (or any request that proves liveness) until the next expiry check. */
  heartbeatSatisfied = false;
  /** Bumped every time a new session deadline is scheduled; stale DelayedHeartbeats ignore themselves. */
  heartbeatGeneration = 0;

  constructor(opts: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: GroupProtocol[];
  }) {
    this.memberId = opts.memberId;
    this.groupInstanceId = opts.groupInstanceId;
    this.clientId = opts.clientId;
    this.clientHost = opts.clientHost;
    this.rebalanceTimeoutMs = opts.rebalanceTimeoutMs;
    this.sessionTimeoutMs = opts.sessionTimeoutMs;
    this.protocolType = opts.protocolType;
    this.protocols = opts.protocols;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== null;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== null;
  }

  /** A member waiting in a JoinGroup or SyncGroup is alive by definition. */
  get hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return this.heartbeatSatisfied;
    return this.heartbeatSatisfied || this.isAwaitingJoin || this.isAwaitingSync;
  }

  metadataFor(protocol: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocol);
    if (!p) throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
    return p.metadata;
  }

  /** Same protocols, same metadata, same order: a rejoin that changes nothing. */
  matches(protocols: GroupProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every(
        (p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata),
      )
    );
  }

  /** Answer the pending JoinGroup, if any. Returns whether there was one. */
  completeJoin(r: JoinGroupResult): boolean {
    const cb = this.awaitingJoin;
    if (!cb) return false;
    this.awaitingJoin = null;
    cb(r);
    return true;
  }

  completeSync(r: SyncGroupResult): boolean {
    const cb = this.awaitingSync;
    if (!cb) return false;
    this.awaitingSync = null;
    cb(r);
    return true;
  }
}
