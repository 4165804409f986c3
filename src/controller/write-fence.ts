/**
 * The condition every metadata write carries. Only the active controller writes metadata (topics,
 * partitions, configs), and it must not write once another controller has been elected: each of its
 * transactions compares the create revision of <root>/controller with its epoch, so a deposed
 * controller's write fails in the store however stale its own view is (KRaft fences by controller
 * epoch the same way). The frontends take a fence in their constructor, so no write path can leave
 * it out.
 *
 * Cluster mode: the Controller's fence follows its current epoch (see controller.ts). Single node:
 * the broker is its own controller; it claims the controller key at startup and its writes carry
 * that key's create revision (claimSingleNodeController below).
 */
import type { Compare, MetadataStore } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import type { ControllerRecord } from './records.js';

export interface WriteFence {
  /** The compares each write adds; they hold only while this writer may write. */
  compares(): Compare[];
}

/** Writes that hold while <root>/controller is the key created at `epoch()` (its create revision). */
export function controllerEpochFence(table: MetadataTable, epoch: () => number): WriteFence {
  return {
    compares: () => [{ key: table.keys.controller, target: 'createRevision', op: '=', value: epoch() }],
  };
}

/** Whether the fence holds now, read from the store (a transaction with its compares and no ops). */
export async function fenceHolds(store: MetadataStore, fence: WriteFence): Promise<boolean> {
  return (await store.txn(fence.compares(), [])).succeeded;
}

/**
 * A single node (embedded store) is its own controller: it replaces whatever controller key an
 * earlier run left (the embedded store keeps no leases across restarts) with a new one, and fences
 * its writes by that key's create revision, as the active controller of a cluster does.
 */
export async function claimSingleNodeController(
  store: MetadataStore,
  table: MetadataTable,
  nodeId: number,
): Promise<WriteFence> {
  const key = table.keys.controller;
  const record: ControllerRecord = { nodeId };
  await store.txn([], [{ type: 'delete', key }]);
  const res = await store.txn(
    [{ key, target: 'exists', value: false }],
    [{ type: 'put', key, value: JSON.stringify(record) }],
  );
  if (!res.succeeded) throw new Error(`could not claim ${key}: another writer created it`);
  await table.waitForRevision(res.revision);
  const epoch = res.revision;
  return controllerEpochFence(table, () => epoch);
}
