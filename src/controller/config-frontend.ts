/**
 * Dynamic broker configs (AlterConfigs / IncrementalAlterConfigs on a BROKER resource): validated and
 * written to <root>/configs/brokers/<id|default>; every broker applies them from its table watch.
 * Owned by the controller like TopicFrontend, and fenced the same way (write-fence.ts).
 */
import { BrokerConfig } from '../common/broker-config.js';
import { InvalidConfigError } from '../common/config-def.js';
import type { MetadataStore } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import { TopicOperationError } from './topic-frontend.js';
import type { WriteFence } from './write-fence.js';

/** Writes answer their store revision (0 when nothing was written), as TopicFrontend's do. */
export class ConfigFrontend {
  readonly #store: MetadataStore;
  readonly #table: MetadataTable;
  readonly #fence: WriteFence;

  /** `fence`: the writer's condition on every write (the controller epoch); see write-fence.ts. */
  constructor(store: MetadataStore, table: MetadataTable, fence: WriteFence) {
    this.#store = store;
    this.#table = table;
    this.#fence = fence;
  }

  current(id: number | 'default'): Record<string, string> {
    return { ...(this.#table.brokerConfigs.get(id) ?? {}) };
  }

  async setBrokerConfigs(
    id: number | 'default',
    next: Record<string, string>,
    validateOnly: boolean,
  ): Promise<number> {
    try {
      BrokerConfig.validateDynamic(next);
    } catch (err) {
      if (err instanceof InvalidConfigError) throw new TopicOperationError('INVALID_CONFIG', err.message);
      throw err;
    }
    if (validateOnly) return 0;
    const key = this.#table.keys.brokerConfig(id);
    const res = await this.#store.txn(
      this.#fence.compares(),
      Object.keys(next).length === 0
        ? [{ type: 'delete', key }]
        : [{ type: 'put', key, value: JSON.stringify(next) }],
    );
    // The fence is the only compare: a refused write means this broker is no longer the controller.
    if (!res.succeeded)
      throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
    await this.#table.waitForRevision(res.revision);
    return res.revision;
  }
}
