/**
 * SCRAM credentials as Kafka's ScramControlManager and ScramImage handle them (same error codes and
 * sentences). ScramCredentialFrontend validates AlterUserScramCredentials and writes the credentials
 * in one transaction, fenced like every metadata write (write-fence.ts): the active controller's in
 * a cluster (brokers forward the request, grpc/forwarding-admin.ts), the node's own on a single node.
 * describeScramCredentials answers DescribeUserScramCredentials from a broker's ScramCredentialTable.
 * A salted password arriving in a request is turned into StoredKey/ServerKey here and never stored.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import type { MetadataStore, Op } from './metadata-store.js';
import type { WriteFence } from './write-fence.js';
import { TopicOperationError } from './topic-frontend.js';
import { encodeCredential, scramKey, type ScramCredentialTable } from './scram-table.js';
import {
  credentialFromSaltedPassword,
  SCRAM_MECHANISMS,
  scramMechanismByType,
  type ScramMechanismInfo,
} from '../common/scram-credential.js';

export interface ScramDeletion {
  name: string;
  mechanism: number;
}

export interface ScramUpsertion {
  name: string;
  mechanism: number;
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

export interface UserResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface DescribedUser extends UserResult {
  credentialInfos: { mechanism: number; iterations: number }[];
}

const MAX_ITERATIONS = 16384;

type ApiError = { code: number; message: string };

function validateNameAndMechanism(name: string, mechanism: number): ApiError | ScramMechanismInfo {
  if (name === '') return { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Username must not be empty' };
  const m = scramMechanismByType(mechanism);
  if (!m) return { code: ErrorCode.UNSUPPORTED_SASL_MECHANISM, message: 'Unknown SCRAM mechanism' };
  return m;
}

const isError = (x: ApiError | ScramMechanismInfo): x is ApiError => 'code' in x;

/** DescribeUserScramCredentials: every requested user's mechanisms and iterations (none: every user). */
export function describeScramCredentials(
  table: ScramCredentialTable,
  users: string[] | null,
): DescribedUser[] {
  const all = table.users();
  const requested = users === null || users.length === 0 ? [...all.keys()] : users;
  const seen = new Map<string, boolean>();
  for (const u of requested) seen.set(u, seen.has(u));
  const out: DescribedUser[] = [];
  for (const [user, duplicate] of seen) {
    if (duplicate) {
      out.push({
        user,
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
        credentialInfos: [],
      });
      continue;
    }
    const mechs = all.get(user);
    if (!mechs || mechs.size === 0) {
      out.push({
        user,
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
        credentialInfos: [],
      });
      continue;
    }
    out.push({
      user,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: [...mechs]
        .map(([m, iterations]) => ({ mechanism: SCRAM_MECHANISMS[m].type, iterations }))
        .sort((a, b) => a.mechanism - b.mechanism),
    });
  }
  return out;
}

export class ScramCredentialFrontend {
  readonly #store: MetadataStore;
  readonly #table: ScramCredentialTable;
  readonly #root: string;
  readonly #fence: WriteFence;

  /** `fence`: the writer's condition on every write (the controller epoch); see write-fence.ts. */
  constructor(store: MetadataStore, table: ScramCredentialTable, root: string, fence: WriteFence) {
    this.#store = store;
    this.#table = table;
    this.#root = root;
    this.#fence = fence;
  }

  /** Kafka's ScramControlManager.alterCredentials. */
  /**
   * Per user, all or nothing for the user; the results and the write's revision (0 when nothing was
   * written), which the caller waits for in its ScramCredentialTable. A deposed controller's write is
   * refused with NOT_CONTROLLER (TopicOperationError), as every fenced write.
   */
  async alter(
    deletions: ScramDeletion[],
    upsertions: ScramUpsertion[],
  ): Promise<{ results: UserResult[]; revision: number }> {
    const toDelete = new Map<string, { d: ScramDeletion; m: ScramMechanismInfo }>();
    const toUpsert = new Map<string, { u: ScramUpsertion; m: ScramMechanismInfo }>();
    const errors = new Map<string, ApiError>();
    const duplicate: ApiError = {
      code: ErrorCode.DUPLICATE_RESOURCE,
      message: 'A user credential cannot be altered twice in the same request',
    };
    for (const d of deletions) {
      if (errors.has(d.name)) continue;
      if (toDelete.delete(d.name)) {
        errors.set(d.name, duplicate);
        continue;
      }
      const m = validateNameAndMechanism(d.name, d.mechanism);
      if (isError(m)) errors.set(d.name, m);
      else if (!this.#table.get(d.name, m.name))
        errors.set(d.name, {
          code: ErrorCode.RESOURCE_NOT_FOUND,
          message: 'Attempt to delete a user credential that does not exist',
        });
      else toDelete.set(d.name, { d, m });
    }
    for (const u of upsertions) {
      if (errors.has(u.name)) continue;
      if (toDelete.delete(u.name) || toUpsert.delete(u.name)) {
        errors.set(u.name, duplicate);
        continue;
      }
      const m = validateNameAndMechanism(u.name, u.mechanism);
      if (isError(m)) errors.set(u.name, m);
      else if (u.iterations < m.minIterations)
        errors.set(u.name, { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Too few iterations' });
      else if (u.iterations > MAX_ITERATIONS)
        errors.set(u.name, { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Too many iterations' });
      else toUpsert.set(u.name, { u, m });
    }
    const ops: Op[] = [];
    for (const { d, m } of toDelete.values())
      ops.push({ type: 'delete', key: scramKey(this.#root, m.name, d.name) });
    for (const { u, m } of toUpsert.values())
      ops.push({
        type: 'put',
        key: scramKey(this.#root, m.name, u.name),
        value: encodeCredential(credentialFromSaltedPassword(m, u.salt, u.saltedPassword, u.iterations)),
      });
    const ok = (user: string): UserResult => ({ user, errorCode: ErrorCode.NONE, errorMessage: null });
    const results: UserResult[] = [];
    let revision = 0;
    if (ops.length > 0) {
      const r = await this.#store.txn(this.#fence.compares(), ops);
      if (!r.succeeded)
        throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
      revision = r.revision;
      results.push(...[...toDelete.keys(), ...toUpsert.keys()].map(ok));
    }
    for (const [user, e] of errors) results.push({ user, errorCode: e.code, errorMessage: e.message });
    return { results, revision };
  }
}

/**
 * Create a credential when the user has none for that mechanism (a broker's bootstrap users, as
 * `kafka-storage format --add-scram` writes them before any controller runs); never replaces one.
 * Returns whether it wrote.
 */
export async function createScramCredentialIfAbsent(
  store: MetadataStore,
  table: ScramCredentialTable,
  root: string,
  user: string,
  mechanismName: keyof typeof SCRAM_MECHANISMS,
  cred: ReturnType<typeof credentialFromSaltedPassword>,
): Promise<boolean> {
  const key = scramKey(root, mechanismName, user);
  const r = await store.txn(
    [{ key, target: 'exists', value: false }],
    [{ type: 'put', key, value: encodeCredential(cred) }],
  );
  await table.waitForRevision(r.revision);
  return r.succeeded;
}
