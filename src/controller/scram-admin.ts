/**
 * The SCRAM credential writes AlterUserScramCredentials asks for, on the broker: a single node
 * writes them itself through its ScramCredentialFrontend (fenced by its own controller key); in
 * cluster mode the broker forwards them to the active controller (grpc/forwarding-admin.ts,
 * ForwardingScramAdmin), which writes them fenced by its epoch, as Kafka's brokers forward the
 * request to the KRaft controller. Either way the answer comes once this broker's
 * ScramCredentialTable has the write, so the credential authenticates here when the client hears
 * of it.
 */
import type { ScramCredentialFrontend, ScramDeletion, ScramUpsertion, UserResult } from './scram-frontend.js';
import type { ScramCredentialTable } from './scram-table.js';

export interface ScramAdmin {
  /** One result per named user (Kafka's order: the written users, then the refused ones). */
  alter(deletions: ScramDeletion[], upsertions: ScramUpsertion[]): Promise<UserResult[]>;
}

/** Single node: the node's own ScramCredentialFrontend, fenced by the node's controller key. */
export class LocalScramAdmin implements ScramAdmin {
  readonly #f: ScramCredentialFrontend;
  readonly #table: ScramCredentialTable;

  constructor(frontend: ScramCredentialFrontend, table: ScramCredentialTable) {
    this.#f = frontend;
    this.#table = table;
  }

  async alter(deletions: ScramDeletion[], upsertions: ScramUpsertion[]): Promise<UserResult[]> {
    const { results, revision } = await this.#f.alter(deletions, upsertions);
    if (revision > 0) await this.#table.waitForRevision(revision);
    return results;
  }
}
