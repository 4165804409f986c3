/** The log engine's public surface. */
export * from './errors.js';
export * from './log-config.js';
export * from './log-file-utils.js';
export { FileHandlePool, PooledFile } from './file-handle-pool.js';
export { OffsetIndex } from './offset-index.js';
export { TimeIndex } from './time-index.js';
export { LogSegment, type BatchPosition } from './log-segment.js';
export {
  LeaderEpochFileCache,
  type EpochEntry,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from './leader-epoch-file-cache.js';
export { OffsetCheckpointFile } from './checkpoint-file.js';
export * from './producer-snapshot-file.js';
export * from './unified-log.js';
export { LogManager, type LogManagerOptions } from './log-manager.js';
export * from './cleaner-config.js';
export type { AbortedTxn, ProducerLastRecord, CleanerStats, CleanResult } from './cleaner-messages.js';
export { LogCleaner, type CleanOutcome, type CleanerLogger, type LogCleanerOptions } from './log-cleaner.js';
export { LogCleanerManager, type LogToClean, type PreCleanStats } from './log-cleaner-manager.js';
export { SkimpyOffsetMap, murmur3x86x128 } from './offset-map.js';
export { groupSegmentsBySize } from './cleaner.js';
