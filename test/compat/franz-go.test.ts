/**
 * franz-go's own client test suite (github.com/twmb/franz-go pkg/kgo `*_test.go`, from the Go module
 * proxy, built by tools/kgo-suite.sh) against one Sluice broker and against a three-broker cluster
 * on etcd. The suite creates its topics, produces, consumes in groups with every balancer, commits,
 * deletes records and topics, and checks what it reads; every test must pass except the expected
 * failures below, and every test the suite skips must be one we expect it to skip.
 *
 * CI runs the suite with KGO_TEST_RECORDS=50000 (the ETL tests' record count; the suite's default,
 * 500000, takes about half an hour on three brokers). For the full suite see tools/kgo-suite.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BrokerProcess, REPO_ROOT } from '../helpers/broker-process.js';
import { run, type RunResult } from '../helpers/clients.js';
import { TestCluster } from '../helpers/cluster.js';
import { ALICE, startSecureBroker, type SecureBroker } from '../security/secure-broker.js';

const SUITE = join(REPO_ROOT, 'tools/kgo-suite.sh');
const RECORDS = process.env.KGO_TEST_RECORDS ?? '50000';

/**
 * Tests that fail against Sluice today, each with the reason; any other failure is red. When a
 * reason goes away (the feature lands), its test passes and this test turns red until the entry is
 * removed.
 */
const EXPECTED_FAILURES: Record<string, string> = {
  // None today. TestTxnEtl (transactions, issue 14) passes since the transaction coordinator landed.
};

/** What the suite's output shows when an expected failure fails for its known reason. */
const FAILURE_SIGNATURE: Record<string, RegExp> = {};

/** Tests the suite skips against Sluice (it asks ApiVersions what the broker supports), and why. */
const EXPECTED_SKIPS: Record<string, string> = {
  TestShareGroup: 'share groups (KIP-932): no ShareFetch/ShareAcknowledge',
  TestShareGroupETL: 'share groups (KIP-932)',
  TestShareGroupAckOnClose: 'share groups (KIP-932)',
  TestShareGroupOffsetsAdmin: 'share groups (KIP-932)',
  TestConsumeRegexShareSkipsInternal: 'share groups (KIP-932)',
  Test848RegexBrokerResolves: 'KIP-848 consumer groups: no ConsumerGroupHeartbeat',
  // The three SASL tests need a SASL listener; they skip in the plain runs and pass in the SASL run
  // at the end of this file.
  TestSCRAMAuth: 'needs KGO_TEST_SCRAM_SEEDS (a SASL/SCRAM listener): passes in the SASL run',
  TestSCRAMAuthBadCredentials: 'needs KGO_TEST_SCRAM_SEEDS: passes in the SASL run',
  TestOAuthAuth: 'needs KGO_TEST_OAUTH_SEEDS (a SASL/OAUTHBEARER listener): passes in the SASL run',
  TestIssueProduceBrokerTooOldFailsRecords: 'the broker no longer takes Produce v2 (as Kafka 4)',
};

interface SuiteResult {
  run: RunResult;
  /** Top-level test → PASS / FAIL / SKIP (the result lines of `go test -v`). */
  results: Map<string, 'PASS' | 'FAIL' | 'SKIP'>;
  /** Top-level tests still running when the binary's -test.timeout fired. */
  timedOut: string[];
  seconds: number;
}

function parse(r: RunResult, seconds: number): SuiteResult {
  const results = new Map<string, 'PASS' | 'FAIL' | 'SKIP'>();
  for (const m of r.stdout.matchAll(/^--- (PASS|FAIL|SKIP): (\S+) \(/gm))
    results.set(m[2]!, m[1] as 'PASS' | 'FAIL' | 'SKIP');
  const timedOut: string[] = [];
  // Go prints the timeout panic (and the tests still running) on stderr.
  const running = /^panic: test timed out after .*\n\s*running tests:\n((?:\s+\S+ \(.*\)\n)+)/m.exec(
    `${r.stdout}\n${r.stderr}`,
  );
  if (running)
    for (const l of running[1]!.split('\n')) {
      const name = l.trim().split(' ')[0];
      if (name && !name.includes('/')) timedOut.push(name);
    }
  return { run: r, results, timedOut, seconds };
}

/** Run the suite (or part of it) against `seeds`; never rejects. */
async function kgo(seeds: string, args: string[], env: Record<string, string>, timeoutMs: number) {
  const start = Date.now();
  const r = await run(SUITE, ['run', seeds, ...args], {
    env: { ...process.env, KGO_TEST_RECORDS: RECORDS, ...env },
    timeoutMs,
  });
  return parse(r, Math.round((Date.now() - start) / 1000));
}

/**
 * What `go test -v` printed for a failed test: its "--- FAIL" line and the indented lines below it
 * (its subtests and t.Log/t.Error output); for a test that never finished, the lines naming it.
 */
function excerpt(out: string, test: string): string {
  const ls = out.split('\n');
  const i = ls.findIndex((l) => l.startsWith(`--- FAIL: ${test} `));
  if (i < 0)
    return ls
      .filter((l) => l.includes(test))
      .slice(-40)
      .join('\n');
  const end = ls.findIndex((l, j) => j > i && !/^\s/.test(l));
  return ls.slice(i, end < 0 ? undefined : Math.min(end, i + 80)).join('\n');
}

const topologies = [
  { brokers: 1, name: 'one broker' },
  { brokers: 3, name: 'three brokers (etcd)' },
];

for (const { brokers, name } of topologies)
  describe(`franz-go kgo suite, ${name}`, { timeout: 30 * 60_000 }, () => {
    let broker: BrokerProcess | undefined;
    let cluster: TestCluster | undefined;
    let all: string[];
    let main: SuiteResult;
    let expected: SuiteResult;

    beforeAll(async () => {
      const built = await run(SUITE, ['build'], { timeoutMs: 20 * 60_000 });
      expect(built.code, built.stderr).toBe(0);
      const bin = built.stdout.trim().split('\n').pop()!;
      all = (await run(bin, ['-test.list', '.'])).stdout
        .split('\n')
        .filter((t) => /^(Test|Fuzz|Example)/.test(t));
      expect(all.length).toBeGreaterThan(100);

      let seeds: string;
      if (brokers === 1) {
        broker = await new BrokerProcess().start();
        seeds = broker.bootstrap;
      } else {
        cluster = await new TestCluster({ brokers }).start();
        seeds = cluster.bootstrap;
      }
      // The suite without the expected failures, and the expected failures on their own with a short
      // timeout (a test waiting forever for a transaction must not hold up the rest); concurrently.
      const names = Object.keys(EXPECTED_FAILURES);
      const failing = `^(${names.join('|')})$`;
      const none: SuiteResult = {
        run: { code: 0, stdout: '', stderr: '' },
        results: new Map(),
        timedOut: [],
        seconds: 0,
      };
      [main, expected] = await Promise.all([
        names.length > 0
          ? kgo(seeds, ['-test.skip', failing], { KGO_LOG_LEVEL: 'none' }, 25 * 60_000)
          : kgo(seeds, [], { KGO_LOG_LEVEL: 'none' }, 25 * 60_000),
        names.length > 0
          ? kgo(seeds, ['-test.run', failing, '-test.timeout', '90s'], { KGO_LOG_LEVEL: 'info' }, 5 * 60_000)
          : Promise.resolve(none),
      ]);
      const count = (s: SuiteResult, k: string) => [...s.results.values()].filter((v) => v === k).length;
      console.log(
        `franz-go kgo suite, ${brokers} broker(s), KGO_TEST_RECORDS=${RECORDS}: ${count(main, 'PASS')} passed, ` +
          `${count(main, 'SKIP')} skipped, ${count(main, 'FAIL') + main.timedOut.length} failed in ${main.seconds} s; ` +
          `expected failures: ${Object.keys(EXPECTED_FAILURES)
            .map(
              (t) =>
                `${t} ${expected.results.get(t) ?? (expected.timedOut.includes(t) ? 'TIMEOUT' : 'none')}`,
            )
            .join(', ')} in ${expected.seconds} s`,
      );
    }, 30 * 60_000);

    afterAll(async () => {
      await broker?.cleanup();
      await cluster?.cleanup();
    });

    it('every test passes, except the expected failures; the skips are the expected ones', () => {
      const failed = [...main.results].filter(([, v]) => v === 'FAIL').map(([t]) => t);
      expect(
        [...failed, ...main.timedOut],
        [...failed, ...main.timedOut].map((t) => excerpt(main.run.stdout, t)).join('\n\n') ||
          main.run.stdout.slice(-3000),
      ).toEqual([]);
      const ran = all.filter((t) => !(t in EXPECTED_FAILURES));
      expect(
        ran.filter((t) => !main.results.has(t)),
        `tests without a result:\n${main.run.stdout.slice(-3000)}\n${main.run.stderr.slice(-3000)}`,
      ).toEqual([]);
      expect(main.run.code, main.run.stderr.slice(-3000)).toBe(0);
      const skipped = [...main.results].filter(([, v]) => v === 'SKIP').map(([t]) => t);
      expect(skipped.sort()).toEqual(Object.keys(EXPECTED_SKIPS).sort());
      expect(ran.filter((t) => main.results.get(t) === 'PASS').length).toBe(
        ran.length - Object.keys(EXPECTED_SKIPS).length,
      );
    });

    it.skipIf(Object.keys(EXPECTED_FAILURES).length === 0).each(Object.keys(EXPECTED_FAILURES))(
      '%s still fails, for its known reason',
      (test) => {
        expect(all).toContain(test);
        const result = expected.results.get(test) ?? (expected.timedOut.includes(test) ? 'TIMEOUT' : 'none');
        expect(
          result,
          `${test} passes now (${EXPECTED_FAILURES[test]}): remove it from EXPECTED_FAILURES`,
        ).not.toBe('PASS');
        expect(['FAIL', 'TIMEOUT']).toContain(result);
        expect(
          FAILURE_SIGNATURE[test]!.test(expected.run.stdout + expected.run.stderr),
          `${test} fails, but not for its known reason (${EXPECTED_FAILURES[test]}):\n${excerpt(expected.run.stdout, test)}\n${expected.run.stderr.slice(-3000)}`,
        ).toBe(true);
      },
    );
  });

/** franz-go's SASL tests and what each needs (pkg/kgo/client_test.go). */
const SASL_TESTS = ['TestSCRAMAuth', 'TestSCRAMAuthBadCredentials', 'TestOAuthAuth'];

/**
 * The three tests the plain runs skip, against a broker whose SASL_PLAINTEXT listener enables
 * SCRAM-SHA-256/512, PLAIN and OAUTHBEARER (unsecured tokens, Kafka's default handler), with alice's
 * SCRAM credentials created at startup (`--add-scram`, see docs/security.md):
 *   TestSCRAMAuth                SCRAM-SHA-256 as KGO_TEST_SCRAM=alice:alice-secret, then Metadata;
 *                                run again with SCRAM-SHA-512 (alice:alice-secret:512)
 *   TestSCRAMAuthBadCredentials  SCRAM-SHA-256 as an unknown user must fail
 *   TestOAuthAuth                an unsecured token valid for an hour is accepted; an expired one
 *                                fails with SASL_AUTHENTICATION_FAILED and Kafka's invalid_token
 */
describe('franz-go kgo suite, SASL tests (SCRAM, OAUTHBEARER)', { timeout: 10 * 60_000 }, () => {
  let secure: SecureBroker | undefined;

  afterAll(async () => {
    await secure?.cleanup();
  });

  it('TestSCRAMAuth, TestSCRAMAuthBadCredentials and TestOAuthAuth pass', async () => {
    const built = await run(SUITE, ['build'], { timeoutMs: 20 * 60_000 });
    expect(built.code, built.stderr).toBe(0);
    secure = await startSecureBroker();
    const sasl = secure.bootstrap('SASL_PLAINTEXT');
    const r = await kgo(
      secure.bootstrap('PLAINTEXT'),
      ['-test.run', `^(${SASL_TESTS.join('|')})$`, '-test.timeout', '3m'],
      {
        KGO_LOG_LEVEL: 'info',
        KGO_TEST_SCRAM_SEEDS: sasl,
        KGO_TEST_SCRAM: `${ALICE.username}:${ALICE.password}`,
        KGO_TEST_OAUTH_SEEDS: sasl,
      },
      5 * 60_000,
    );
    console.log(
      `franz-go SASL tests: ${SASL_TESTS.map((t) => `${t} ${r.results.get(t) ?? 'none'}`).join(', ')} in ${r.seconds} s`,
    );
    const out = `${r.run.stdout.slice(-6000)}\n${r.run.stderr.slice(-3000)}`;
    expect(Object.fromEntries(SASL_TESTS.map((t) => [t, r.results.get(t)])), out).toEqual(
      Object.fromEntries(SASL_TESTS.map((t) => [t, 'PASS'])),
    );
    expect(r.run.code, out).toBe(0);
    // TestSCRAMAuthBadCredentials logs the error its Ping got: the broker's authentication failure.
    expect(r.run.stdout, out).toMatch(
      /got expected error with bad credentials: .*SASL_AUTHENTICATION_FAILED/,
    );

    // TestSCRAMAuth once more with SCRAM-SHA-512 (KGO_TEST_SCRAM's third field).
    const r512 = await kgo(
      secure.bootstrap('PLAINTEXT'),
      ['-test.run', '^TestSCRAMAuth$', '-test.timeout', '2m'],
      {
        KGO_LOG_LEVEL: 'info',
        KGO_TEST_SCRAM_SEEDS: sasl,
        KGO_TEST_SCRAM: `${ALICE.username}:${ALICE.password}:512`,
      },
      3 * 60_000,
    );
    expect(r512.results.get('TestSCRAMAuth'), r512.run.stdout.slice(-6000)).toBe('PASS');
  });
});
