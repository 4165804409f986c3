/**
 * partition.metadata: the file in each partition directory that names the topic id the log belongs
 * to, in Kafka's format ("version: 0\ntopic_id: <id>", the id as Kafka prints it: URL-safe base64 of
 * its 16 bytes without padding). It tells a log of a deleted topic apart from a log of a later topic
 * with the same name: a broker that was down while a topic was deleted and re-created must not serve
 * the old records as the new topic's (Kafka calls such logs stray).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from './checkpoint-file.js';

export const PARTITION_METADATA_FILE = 'partition.metadata';
const VERSION = 0;
const UUID_HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PartitionMetadataError extends Error {
  override readonly name = 'PartitionMetadataError';
}

/** A topic id as Sluice keeps it (8-4-4-4-12 hex) → as Kafka writes and prints it (base64url). */
export function topicIdToKafkaString(uuid: string): string {
  if (!UUID_HEX.test(uuid)) throw new PartitionMetadataError(`not a topic id: ${uuid}`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url');
}

/** Kafka's base64url topic id → 8-4-4-4-12 hex. */
export function topicIdFromKafkaString(s: string): string {
  const b = Buffer.from(s, 'base64url');
  if (b.length !== 16 || b.toString('base64url') !== s)
    throw new PartitionMetadataError(`invalid topic ID ${JSON.stringify(s)}`);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The topic id recorded in `dir`, or null when the directory has no partition.metadata. */
export function readPartitionMetadata(dir: string): string | null {
  const path = join(dir, PARTITION_METADATA_FILE);
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').split('\n');
  const field = (i: number, name: string): string => {
    const m = /^([a-z_]+):\s+(\S+)\s*$/.exec(lines[i] ?? '');
    if (!m || m[1] !== name) throw new PartitionMetadataError(`malformed line ${i + 1} in ${path}`);
    return m[2]!;
  };
  const version = Number(field(0, 'version'));
  if (version !== VERSION) throw new PartitionMetadataError(`unrecognized version ${version} of ${path}`);
  return topicIdFromKafkaString(field(1, 'topic_id'));
}

/** Record the topic id in `dir` (atomically: a crash leaves the old file or the new one). */
export function writePartitionMetadata(dir: string, topicId: string): void {
  writeFileAtomically(
    join(dir, PARTITION_METADATA_FILE),
    `version: ${VERSION}\ntopic_id: ${topicIdToKafkaString(topicId)}`,
  );
}
