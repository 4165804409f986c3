/**
 * Dynamic broker configs (AlterConfigs / IncrementalAlterConfigs on a BROKER resource): validated and
 * written to <root>/configs/brokers/<id|default>; every broker applies them from its table watch.
 */
import { BrokerConfig } from '../common/broker-config.js';
import { InvalidConfigError } from '../common/config-def.js';
import type { Compare, MetadataStore } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import { TopicOperationError } from './topic-frontend.js';

export class ConfigFrontend {
  fence: () => Compare[] = () => [];

  constructor(
    private readonly store: MetadataStore,
    private readonly table: MetadataTable,
  ) {}

  current(id: number | 'default'): Record<string, string> {
    return { ...(this.table.brokerConfigs.get(id) ?? {}) };
  }

  async setBrokerConfigs(
    id: number | 'default',
    next: Record<string, string>,
    validateOnly: boolean,
  ): Promise<void> {
    try {
      BrokerConfig.validateDynamic(next);
    } catch (err) {
      if (err instanceof InvalidConfigError) throw new TopicOperationError('INVALID_CONFIG', err.message);
      throw err;
    }
    if (validateOnly) return;
    const key = this.table.keys.brokerConfig(id);
    const res = await this.store.txn(
      this.fence(),
      Object.keys(next).length === 0
        ? [{ type: 'delete', key }]
        : [{ type: 'put', key, value: JSON.stringify(next) }],
    );
    if (!res.succeeded)
      throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
    await this.table.waitForRevision(res.revision);
  }
}
