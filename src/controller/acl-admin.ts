/**
 * The ACL writes the ACL handlers ask for (CreateAcls, DeleteAcls), on `BrokerServices.aclAdmin`,
 * like admin-writes.ts for topics and configs: a single node writes them itself through its
 * AclFrontend; in cluster mode the broker forwards them to the active controller
 * (grpc/forwarding-admin.ts, ForwardingAclAdmin). Either way the answer comes once this broker's
 * AclTable has the write, so the ACL is enforced here when the client hears of it.
 *
 * A failure of the whole request (no controller in time, a DeleteAcls removing more than 10000
 * ACLs) is a TopicOperationError with Kafka's error name; per-binding and per-filter failures are
 * in the results.
 */
import type { AclBinding, AclBindingFilter } from '../broker/security/acl.js';
import type { AclDeleteResult, AclFrontend, AclWriteResult } from './acl-frontend.js';
import type { AclTable } from './acl-table.js';

export interface AclAdmin {
  /** One result per binding (normalized codes), in order. */
  create(bindings: AclBinding[]): Promise<AclWriteResult[]>;
  /** One result per filter (normalized codes), in order, with the ACLs it removed. */
  delete(filters: AclBindingFilter[]): Promise<AclDeleteResult[]>;
}

/** Single node: the node's own AclFrontend, fenced by the node's controller key. */
export class LocalAclAdmin implements AclAdmin {
  readonly #f: AclFrontend;
  readonly #table: AclTable;

  constructor(frontend: AclFrontend, table: AclTable) {
    this.#f = frontend;
    this.#table = table;
  }

  async create(bindings: AclBinding[]): Promise<AclWriteResult[]> {
    const { results, revision } = await this.#f.create(bindings);
    await this.#table.waitForRevision(revision);
    return results;
  }

  async delete(filters: AclBindingFilter[]): Promise<AclDeleteResult[]> {
    const { results, revision } = await this.#f.delete(filters);
    await this.#table.waitForRevision(revision);
    return results;
  }
}
