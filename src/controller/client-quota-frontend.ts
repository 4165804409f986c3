/**
 * ClientQuotaFrontend: AlterClientQuotas validated as Kafka's ClientQuotaControlManager does (same
 * error codes and sentences) and written to <root>/client-quotas/ (client-quota-table.ts) in one
 * transaction. Owned by the controller like ConfigFrontend and fenced the same way (write-fence.ts):
 * a single node writes through its own, a cluster's brokers forward to the active controller's
 * (grpc/forwarding-admin.ts). Every broker enforces what its ClientQuotaTable watch brings.
 */
import {
  entityToString,
  validateEntity,
  validateQuotaValue,
  type ApiError,
  type ClientQuotaEntity,
} from '../common/client-quota.js';
import type { MetadataStore, Op } from './metadata-store.js';
import { clientQuotaKey, type StoredClientQuota } from './client-quota-table.js';
import { TopicOperationError } from './topic-frontend.js';
import type { WriteFence } from './write-fence.js';

export interface ClientQuotaEntityData {
  entityType: string;
  entityName: string | null;
}

export interface ClientQuotaAlteration {
  entity: ClientQuotaEntityData[];
  /** value null: remove the key. */
  ops: { key: string; value: number | null }[];
}

export interface ClientQuotaAlterationResult {
  entity: ClientQuotaEntityData[];
  /** A Kafka error name (NONE when it applied, or would with validate_only). */
  error: string;
  message: string | null;
}

export class ClientQuotaFrontend {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #fence: WriteFence;

  /** `fence`: the writer's condition on every write (the controller epoch); see write-fence.ts. */
  constructor(store: MetadataStore, root: string, fence: WriteFence) {
    this.#store = store;
    this.#root = root;
    this.#fence = fence;
  }

  /**
   * Kafka's ClientQuotaControlManager.alterClientQuotas: one result per distinct entity (a repeated
   * entity answers "Ignoring duplicate entity"); the valid entities are written together.
   * Returns the results and the write's revision (0 when nothing was written).
   */
  async alter(
    alterations: ClientQuotaAlteration[],
    validateOnly: boolean,
  ): Promise<{ results: ClientQuotaAlterationResult[]; revision: number }> {
    const results = new Map<string, ClientQuotaAlterationResult>();
    const writes = new Map<string, { key: string; next: StoredClientQuota | null }>();
    for (const a of alterations) {
      // Results are keyed as Kafka keys them: by the entity as sent (types in any order).
      const id = JSON.stringify(
        [...a.entity]
          .sort((x, y) => x.entityType.localeCompare(y.entityType))
          .map((e) => [e.entityType, e.entityName]),
      );
      const fail = (e: ApiError) => {
        results.set(id, { entity: a.entity, error: e.code, message: e.message });
        writes.delete(id);
      };
      const asString = entityToString(
        Object.fromEntries(a.entity.map((e) => [e.entityType, e.entityName])) as ClientQuotaEntity,
      );
      const changes = new Map<string, number | null>();
      let duplicateKey: string | null = null;
      for (const op of a.ops) {
        if (changes.has(op.key)) duplicateKey ??= op.key;
        else changes.set(op.key, op.value);
      }
      if (results.has(id) || duplicateKey !== null) {
        // Kafka answers a repeated entity, and (its duplicate-key message being overwritten by the
        // next check) an entity with a repeated key, with this sentence.
        fail({ code: 'INVALID_REQUEST', message: `Ignoring duplicate entity ${asString}` });
        continue;
      }
      const v = validateEntity(a.entity);
      if ('code' in v) {
        fail(v);
        continue;
      }
      const key = clientQuotaKey(this.#root, v.entity);
      const current = await this.#current(key);
      const next: Record<string, number> = { ...current };
      let error: ApiError | null = null;
      for (const [k, value] of changes) {
        if (value === null) {
          delete next[k];
          continue;
        }
        error = validateQuotaValue(v.keys, k, value);
        if (error) break;
        next[k] = value;
      }
      if (error) {
        fail(error);
        continue;
      }
      results.set(id, { entity: a.entity, error: 'NONE', message: null });
      const changed =
        Object.keys(next).length !== Object.keys(current).length ||
        Object.entries(next).some(([k, x]) => current[k] !== x);
      if (changed)
        writes.set(id, {
          key,
          next: Object.keys(next).length === 0 ? null : { entity: v.entity, quotas: next },
        });
    }
    if (validateOnly || writes.size === 0) return { results: [...results.values()], revision: 0 };
    const ops: Op[] = [...writes.values()].map(({ key, next }) =>
      next === null ? { type: 'delete', key } : { type: 'put', key, value: JSON.stringify(next) },
    );
    const res = await this.#store.txn(this.#fence.compares(), ops);
    // The fence is the only compare: a refused write means this broker is no longer the controller.
    if (!res.succeeded)
      throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
    return { results: [...results.values()], revision: res.revision };
  }

  async #current(key: string): Promise<Record<string, number>> {
    const kv = await this.#store.get(key);
    if (!kv) return {};
    try {
      return (JSON.parse(kv.value) as StoredClientQuota).quotas;
    } catch {
      return {};
    }
  }
}
