/**
 * `sluice operator`: runs the Kubernetes operator (in-cluster config in a pod, else --kubeconfig,
 * $KUBECONFIG or ~/.kube/config). `--bootstrap`/`--control` point it at a cluster reachable from
 * where it runs instead of in-cluster DNS names (local development and tests). Stops cleanly on
 * SIGTERM/SIGINT; with --leader-elect, a leader first finishes its reconciles, then releases the
 * Lease so a standby takes over at once.
 *
 * `sluice operator rack`: the broker pods' init container for rack awareness: reads the node's
 * topology label and writes it to a file the broker turns into broker.rack.
 */
import { writeFileSync } from 'node:fs';
import { pino, type LevelWithSilent } from 'pino';
import { KubeClient, resourceFor, type AnyObject } from '../operator/kube/client.js';
import { inClusterEndpoints, type ClusterEndpoints } from '../operator/cluster-reconciler.js';
import { Operator } from '../operator/operator.js';

export interface OperatorCommandOptions {
  kubeconfig?: string;
  namespace?: string;
  httpListen: { host: string; port: number };
  resyncSeconds: number;
  bootstrap?: string;
  control?: string;
  workers: number;
  logLevel: string;
  brokerClusterRole: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaderElectionIdentity?: string;
  leaderElectionLeaseDurationSeconds: number;
  leaderElectionRenewDeadlineSeconds: number;
  leaderElectionRetryPeriodSeconds: number;
}

/** "1=127.0.0.1:9191,2=127.0.0.1:9192" → Map. */
export function parseControl(s: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const part of s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`--control expects id=host:port pairs, got "${part}"`);
    m.set(Number(part.slice(0, i)), part.slice(i + 1));
  }
  return m;
}

export async function runOperator(o: OperatorCommandOptions): Promise<void> {
  const log = pino({
    level: o.logLevel as LevelWithSilent,
    base: { component: 'operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  const client = KubeClient.load(o.kubeconfig);
  const control = o.control ? parseControl(o.control) : null;
  const endpoints: ClusterEndpoints = {
    bootstrap: (c) => o.bootstrap ?? inClusterEndpoints.bootstrap(c),
    control: (c) => control ?? inClusterEndpoints.control(c),
  };
  const namespace = o.namespace || process.env.WATCH_NAMESPACE || undefined;
  const leaseNamespace = o.leaderElectionNamespace || process.env.POD_NAMESPACE;
  if (o.leaderElect && !leaseNamespace)
    throw new Error('--leader-elect needs --leader-election-namespace (or $POD_NAMESPACE)');
  const op = new Operator({
    client,
    log,
    namespace,
    endpoints,
    resyncMs: o.resyncSeconds * 1000,
    workers: o.workers,
    httpListen: o.httpListen,
    brokerClusterRole: o.brokerClusterRole,
    leaderElection: o.leaderElect
      ? {
          namespace: leaseNamespace!,
          name: o.leaderElectionId,
          identity: o.leaderElectionIdentity,
          leaseDurationMs: o.leaderElectionLeaseDurationSeconds * 1000,
          renewDeadlineMs: o.leaderElectionRenewDeadlineSeconds * 1000,
          retryPeriodMs: o.leaderElectionRetryPeriodSeconds * 1000,
        }
      : undefined,
    // Exit rather than carry on: in-flight reconciles stop at once, no cache or queue state is
    // reused, and the restarted pod comes back as a standby (controller-runtime does the same).
    onLeadershipLost: () => {
      log.error('lost the leader Lease; exiting so the pod restarts as a standby');
      process.exit(1);
    },
  });
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal: sig }, 'stopping operator');
      op.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  // An API error must never end the process: log and keep going.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  await op.start();
  log.info({ http: `${o.httpListen.host}:${op.httpPort}` }, 'operator ready');
}

export async function runRackInit(o: {
  topologyKey: string;
  node: string;
  output: string;
  kubeconfig?: string;
}): Promise<void> {
  const client = KubeClient.load(o.kubeconfig);
  const node = await client.get<AnyObject>(resourceFor('v1', 'Node'), undefined, o.node);
  const rack = (node.metadata.labels as Record<string, string> | undefined)?.[o.topologyKey] ?? '';
  writeFileSync(o.output, rack);
  console.error(
    rack
      ? `broker.rack=${rack} (node ${o.node}, label ${o.topologyKey})`
      : `node ${o.node} has no label ${o.topologyKey}; no rack`,
  );
}
