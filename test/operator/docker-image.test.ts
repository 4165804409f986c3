/**
 * The container image: builds (on a locally made base image when there is no registry) and serves a
 * broker on loopback. Skipped unless a Docker engine answers; slow (minutes) on a cold cache.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const kcat = spawnSync('sh', ['-c', 'command -v kcat'], { stdio: 'ignore' }).status === 0;
const skip = !dockerUp ? 'no Docker engine running' : !kcat ? 'kcat not installed' : null;
if (skip) console.warn(`skipping the image check: ${skip}`);

describe.skipIf(skip !== null)('container image', () => {
  it('builds, runs as non-root and serves a broker on loopback', () => {
    const out = execFileSync(join(import.meta.dirname, '../../tools/check-docker-image.sh'), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
    });
    expect(out).toBeDefined();
  }, 900_000);
});
