/** DescribeLogDirs (key 35), versions 0-4: each log dir with its partitions' sizes and the disk's space. */
import { statfsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  decodeDescribeLogDirsRequest,
  encodeDescribeLogDirsResponse,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../../protocol/messages/describe-log-dirs.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function describeLogDirsHandler(b: BrokerServices) {
  return defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
    apiKey: 35,
    name: 'DescribeLogDirs',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeDescribeLogDirsRequest,
    encode: encodeDescribeLogDirsResponse,
    handle(req, ctx) {
      // Kafka: DESCRIBE on the cluster.
      if (!b.auth.authorizeCluster(ctx, 'DESCRIBE'))
        return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
      const wanted =
        req.topics === null
          ? null
          : new Set(req.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)));
      const byDir = new Map<
        string,
        Map<string, DescribeLogDirsResponse['results'][number]['topics'][number]['partitions']>
      >();
      for (const dir of b.replicaManager.logManager.logDirs) byDir.set(resolve(dir), new Map());
      for (const p of b.replicaManager.allPartitions()) {
        if (wanted && !wanted.has(p.key)) continue;
        const dir = resolve(p.dir, '..');
        const topics = byDir.get(dir) ?? byDir.set(dir, new Map()).get(dir)!;
        const parts = topics.get(p.topic) ?? topics.set(p.topic, []).get(p.topic)!;
        parts.push({
          partitionIndex: p.index,
          partitionSize: BigInt(p.sizeInBytes),
          offsetLag: 0n,
          isFutureKey: false,
        });
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        results: [...byDir].map(([logDir, topics]) => {
          let totalBytes = -1n;
          let usableBytes = -1n;
          try {
            const s = statfsSync(logDir, { bigint: true });
            totalBytes = s.blocks * s.bsize;
            usableBytes = s.bavail * s.bsize;
          } catch {
            /* unknown */
          }
          return {
            errorCode: ErrorCode.NONE,
            logDir,
            topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
            totalBytes,
            usableBytes,
          };
        }),
      };
    },
  });
}
