import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/storage/index.js';
import {
  PartitionMetadataError,
  readPartitionMetadata,
  topicIdFromKafkaString,
  topicIdToKafkaString,
  writePartitionMetadata,
} from '../../src/storage/partition-metadata-file.js';
import { makeBatch, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
const dir = () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.path;
};

const ID_A = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const ID_B = '00000000-0000-0000-0000-000000000001';

describe('partition.metadata', () => {
  it("writes Kafka's format with the topic id as Kafka prints it, and reads it back", () => {
    const d = dir();
    writePartitionMetadata(d, ID_B);
    // Kafka's Uuid.toString: URL-safe base64 of the 16 bytes, no padding.
    expect(readFileSync(join(d, 'partition.metadata'), 'utf8')).toBe(
      'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ',
    );
    expect(readPartitionMetadata(d)).toBe(ID_B);
    expect(topicIdFromKafkaString(topicIdToKafkaString(ID_A))).toBe(ID_A);
    expect(readPartitionMetadata(dir())).toBeNull();
  });

  it('refuses malformed files and ids with a clear error', () => {
    const d = dir();
    for (const text of [
      'version: 1\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ',
      'version: 0\n',
      'topic_id: x\nversion: 0',
    ]) {
      writeFileSync(join(d, 'partition.metadata'), text);
      expect(() => readPartitionMetadata(d)).toThrow(PartitionMetadataError);
    }
    writeFileSync(join(d, 'partition.metadata'), 'version: 0\ntopic_id: AAAA');
    expect(() => readPartitionMetadata(d)).toThrow(/invalid topic ID/);
    expect(() => topicIdToKafkaString('not-a-uuid')).toThrow(PartitionMetadataError);
  });

  it('LogManager records the topic id and reports the id of a log left by a deleted topic', () => {
    const logDirs = [dir()];
    let m = new LogManager({ logDirs, maxOpenFiles: 32 });
    m.startup({ background: false });
    m.getOrCreateLog('t', 0, ID_A).append(makeBatch(3), { leaderEpoch: 0 });
    expect(m.recordedTopicId('t', 0)).toBe(ID_A);
    m.shutdown();

    m = new LogManager({ logDirs, maxOpenFiles: 32 });
    m.startup({ background: false });
    // After a restart the log on disk still says which topic it belongs to.
    expect(m.recordedTopicId('t', 0)).toBe(ID_A);
    expect(m.getLog('t', 0)!.logEndOffset).toBe(3n);
    expect(m.recordedTopicId('t', 1)).toBeNull();
    // A log without the file (written before Sluice kept one) gets it on first use.
    m.getOrCreateLog('u', 0).append(makeBatch(1), { leaderEpoch: 0 });
    expect(m.recordedTopicId('u', 0)).toBeNull();
    m.getOrCreateLog('u', 0, ID_B);
    expect(m.recordedTopicId('u', 0)).toBe(ID_B);
    m.shutdown();
  });
});
