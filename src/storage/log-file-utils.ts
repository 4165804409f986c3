/**
 * File and directory names, as Kafka's LogFileUtils: segments are named by their 20-digit zero-padded
 * base offset; a partition lives in <log.dir>/<topic>-<partition>.
 */
import { join } from 'node:path';

export const LOG_FILE_SUFFIX = '.log';
export const INDEX_FILE_SUFFIX = '.index';
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
/** The aborted-transaction index (transaction-index.ts); only segments with an abort have one. */
export const TXN_INDEX_FILE_SUFFIX = '.txnindex';
/** Segment files waiting for file.delete.delay.ms before they are unlinked. */
export const DELETED_FILE_SUFFIX = '.deleted';
/** A segment the log cleaner is writing (LogFileUtils.CLEANED_FILE_SUFFIX); never part of the log. */
export const CLEANED_FILE_SUFFIX = '.cleaned';
/** A cleaned segment being swapped in (LogFileUtils.SWAP_FILE_SUFFIX); completed on load after a crash. */
export const SWAP_FILE_SUFFIX = '.swap';
/** A partition directory renamed away for deletion. */
export const DELETE_DIR_SUFFIX = '-delete';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT_FILE = 'replication-offset-checkpoint';
/** Per log dir: the first dirty offset of every compacted log (LogCleanerManager). */
export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

export function filenamePrefixFromOffset(offset: bigint): string {
  return offset.toString().padStart(20, '0');
}

export function logFile(dir: string, baseOffset: bigint, suffix = ''): string {
  return join(dir, filenamePrefixFromOffset(baseOffset) + LOG_FILE_SUFFIX + suffix);
}
export function offsetIndexFile(dir: string, baseOffset: bigint, suffix = ''): string {
  return join(dir, filenamePrefixFromOffset(baseOffset) + INDEX_FILE_SUFFIX + suffix);
}
export function timeIndexFile(dir: string, baseOffset: bigint, suffix = ''): string {
  return join(dir, filenamePrefixFromOffset(baseOffset) + TIME_INDEX_FILE_SUFFIX + suffix);
}

export function txnIndexFile(dir: string, baseOffset: bigint, suffix = ''): string {
  return join(dir, filenamePrefixFromOffset(baseOffset) + TXN_INDEX_FILE_SUFFIX + suffix);
}

/** The base offset of a segment file name ("00000000000000000042.log" → 42n), or null. */
export function offsetFromFileName(name: string): bigint | null {
  const m = /^(\d{20})\./.exec(name);
  return m ? BigInt(m[1]!) : null;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export function topicPartitionKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Parse "<topic>-<partition>"; topics may contain '-', so the last one splits. */
export function parseTopicPartitionName(name: string): TopicPartition | null {
  const i = name.lastIndexOf('-');
  if (i <= 0) return null;
  const p = name.slice(i + 1);
  if (!/^\d+$/.test(p)) return null;
  return { topic: name.slice(0, i), partition: Number(p) };
}
