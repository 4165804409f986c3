/**
 * The container image: builds (on a locally made base image when there is no registry) and serves a
 * broker on loopback (tools/check-docker-image.sh). Skipped, with the reason printed, unless a Docker
 * engine answers and kcat is installed; once an engine answers, a failing image fails the test.
 * Minutes on a cold cache (debootstrap, npm install in the build); seconds when CI built it early.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function skipReason(): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (info.error) return `no Docker engine: ${info.error.message}`;
  if (info.status !== 0) {
    const why = (info.stderr || info.stdout).trim().split('\n').pop() ?? '';
    return `no Docker engine answers (docker info: ${why})`;
  }
  if (spawnSync('sh', ['-c', 'command -v kcat'], { stdio: 'ignore' }).status !== 0)
    return 'kcat not installed';
  return null;
}

const skip = skipReason();
if (skip) console.warn(`skipping the container image check: ${skip}`);

describe.skipIf(skip !== null)('container image', () => {
  it('builds, runs as non-root and serves a broker on loopback', () => {
    const res = spawnSync(join(import.meta.dirname, '../../tools/check-docker-image.sh'), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    // On failure, the end of the script's output (docker build's and the broker's logs) says why.
    const tail = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-60).join('\n');
    expect(res.error, tail).toBeUndefined();
    expect(res.status, tail).toBe(0);
    expect(res.stderr).toMatch(/image \S+ OK: non-root/);
  }, 900_000);
});
