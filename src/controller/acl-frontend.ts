/**
 * AclFrontend: the controller's ACL writes (Kafka's AclControlManager), for CreateAcls and
 * DeleteAcls. Run by whoever writes metadata: the active controller (forwarded by the broker that
 * received the request, grpc/forwarding-admin.ts) or a single node, fenced by the controller epoch
 * like every other metadata write (write-fence.ts); a write the fence refuses is NOT_CONTROLLER.
 *
 * One key per ACL, `<root>/acls/<id>`, its value the binding with Kafka's enum names. The id is a
 * hash of the binding, so the same ACL created twice (or by two racing requests) is one key, as
 * Kafka keeps one copy of equal ACLs. Creating answers per binding (INVALID_REQUEST with Kafka's
 * sentence for a bad one, the others are written); deleting answers per filter with the ACLs it
 * matched, read from the store at the time of the write.
 *
 * etcd limits a transaction to 128 operations, so large requests are written in batches of 100:
 * each batch is atomic, a request of more than 100 ACLs is not (Kafka's is).
 */
import { createHash } from 'node:crypto';
import {
  type AclBinding,
  type AclBindingFilter,
  bindingKey,
  filterMatches,
  fromStored,
  toStored,
  validateFilter,
  validateNewAcl,
} from '../broker/security/acl.js';
import type { MetadataStore, Op } from './metadata-store.js';
import { aclPrefix } from './acl-table.js';
import { TopicOperationError } from './topic-frontend.js';
import type { WriteFence } from './write-fence.js';

/** The first metadata.version (4.4-IV1) that allows CIDR host patterns. */
export const CIDR_ACL_MIN_METADATA_VERSION = 32;

/** Kafka's MAX_RECORDS_PER_USER_OP: one DeleteAcls removes at most this many ACLs. */
const MAX_DELETIONS = 10_000;

const BATCH = 100;

/** An answer per binding or filter: a Kafka error name (NONE) and message. */
export interface AclWriteResult {
  error: string;
  message: string | null;
}

export interface AclDeleteResult extends AclWriteResult {
  /** The ACLs the filter matched (and that were deleted). */
  deleted: AclBinding[];
}

/** The id (key suffix) of a binding: equal bindings, equal ids. */
export function aclId(b: AclBinding): string {
  return createHash('sha256').update(bindingKey(b)).digest('hex').slice(0, 32);
}

export class AclFrontend {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #prefix: string;
  readonly #fence: WriteFence;

  /** `fence`: the writer's condition on every write (the controller epoch); see write-fence.ts. */
  constructor(store: MetadataStore, root: string, fence: WriteFence) {
    this.#store = store;
    this.#root = root;
    this.#prefix = aclPrefix(root);
    this.#fence = fence;
  }

  /** Whether the finalized metadata.version allows CIDR host patterns (4.4-IV1 and later). */
  async #cidrSupported(): Promise<boolean> {
    const kv = await this.#store.get(`${this.#root}/features`);
    if (!kv) return false;
    try {
      const doc = JSON.parse(kv.value) as { levels?: Record<string, number> };
      return (doc.levels?.['metadata.version'] ?? 0) >= CIDR_ACL_MIN_METADATA_VERSION;
    } catch {
      return false;
    }
  }

  /** Write ops in batches, each fenced; returns the last revision written (0: nothing written). */
  async #write(ops: Op[]): Promise<number> {
    let revision = 0;
    for (let i = 0; i < ops.length; i += BATCH) {
      const res = await this.#store.txn(this.#fence.compares(), ops.slice(i, i + BATCH));
      // The fence is the only compare: a refused write means this writer is no longer the controller.
      if (!res.succeeded)
        throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
      revision = res.revision;
    }
    return revision;
  }

  /** CreateAcls: `bindings` normalized (unknown codes read as UNKNOWN). One result per binding. */
  async create(bindings: AclBinding[]): Promise<{ results: AclWriteResult[]; revision: number }> {
    const cidr = bindings.some((b) => b.host.includes('/')) ? await this.#cidrSupported() : true;
    const results: AclWriteResult[] = [];
    const puts = new Map<string, Op>();
    for (const b of bindings) {
      const problem = validateNewAcl(b, cidr);
      if (problem) {
        results.push({ error: problem.error, message: problem.message });
        continue;
      }
      const id = aclId(b);
      puts.set(id, { type: 'put', key: this.#prefix + id, value: JSON.stringify(toStored(b)) });
      results.push({ error: 'NONE', message: null });
    }
    return { results, revision: await this.#write([...puts.values()]) };
  }

  /** DeleteAcls: every stored ACL each filter matches is removed. One result per filter. */
  async delete(filters: AclBindingFilter[]): Promise<{ results: AclDeleteResult[]; revision: number }> {
    const { kvs } = await this.#store.range(this.#prefix);
    const stored: { key: string; binding: AclBinding }[] = [];
    for (const kv of kvs) {
      let binding: AclBinding | null = null;
      try {
        binding = fromStored(JSON.parse(kv.value));
      } catch {
        binding = null;
      }
      if (binding) stored.push({ key: kv.key, binding });
    }
    const results: AclDeleteResult[] = [];
    const deletes = new Map<string, Op>();
    for (const f of filters) {
      const problem = validateFilter(f);
      if (problem) {
        results.push({ error: problem.error, message: problem.message, deleted: [] });
        continue;
      }
      const deleted: AclBinding[] = [];
      for (const s of stored) {
        if (!filterMatches(f, s.binding)) continue;
        deleted.push(s.binding);
        deletes.set(s.key, { type: 'delete', key: s.key });
        if (deletes.size > MAX_DELETIONS)
          throw new TopicOperationError(
            'INVALID_REQUEST',
            `Cannot remove more than ${MAX_DELETIONS} acls in a single delete operation.`,
          );
      }
      results.push({ error: 'NONE', message: null, deleted });
    }
    return { results, revision: await this.#write([...deletes.values()]) };
  }
}
