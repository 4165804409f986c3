#!/usr/bin/env node
/**
 * The `sluice` command. commander parses the arguments (typed options, help text and repeatable
 * flags for free); each subcommand lives in its own module.
 */
import { Command, InvalidArgumentError } from 'commander';
// Subcommands load their modules on use: `sluice broker` never loads the Kubernetes client, and a
// problem in one subcommand's dependencies cannot stop the others from starting.

function hostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected HOST:PORT, got "${value}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(`port out of range in "${value}"`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function keyValue(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1) };
}

const program = new Command();
program.name('sluice').description('A Kafka-compatible streaming broker').showHelpAfterError();

program
  .command('broker')
  .description('run a broker (alone with an embedded metadata store unless --etcd is given)')
  .option(
    '--listen <host:port>',
    'one PLAINTEXT listener, also the advertised address; short for listeners=PLAINTEXT://HOST:PORT' +
      ' (default 127.0.0.1:9092; for named listeners set listeners, advertised.listeners,' +
      ' listener.security.protocol.map, inter.broker.listener.name with --config or --override)',
    hostPort,
  )
  .option(
    '--advertise <host:port>',
    'address clients are told to connect to (advertised.listeners=PLAINTEXT://HOST:PORT; default: --listen)',
    hostPort,
  )
  .option('--data-dir <dir>', 'data directory (log.dirs)', './data')
  .option('--node-id <n>', "this broker's node.id", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError('node id must be a non-negative integer');
    return n;
  })
  .option('--metrics-listen <host:port>', 'HTTP listener for /metrics and /ready', hostPort)
  .option(
    '--control-listen <host:port>',
    'gRPC control-plane listener (cluster mode; default: a free port)',
    hostPort,
  )
  .option('--config <file>', 'a Kafka server.properties file')
  .option('--override <key=value>', "any broker config, Kafka's key names (repeatable)", keyValue, {})
  .option('--etcd <urls>', 'etcd endpoints, comma separated (cluster mode)')
  .option('--cluster-id <id>', 'cluster id (cluster mode)')
  .option(
    '--add-scram <spec>',
    "create a SCRAM user when it has none, as kafka-storage format --add-scram: 'SCRAM-SHA-512=[name=admin,password=admin-secret]' (repeatable)",
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .action(async (opts) => {
    const { runBroker } = await import('./broker-command.js');
    await runBroker(opts);
  });

program
  .command('dev-cluster')
  .description('run a local cluster: etcd (from PATH, unless --etcd) and N brokers on consecutive ports')
  .option(
    '--brokers <n>',
    'number of brokers',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 32) throw new InvalidArgumentError('brokers must be 1..32');
      return n;
    },
    3,
  )
  .option('--etcd <url>', 'use this etcd instead of starting one')
  .option('--base-port <port>', 'first broker port (metrics at +100, etcd at +1000)', (v) => Number(v), 9092)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--data-dir <dir>', 'where brokers (and etcd) keep data (default: a temp dir removed on exit)')
  .option('--keep-data', 'keep the temp data dir on exit', false)
  .option('--cluster-id <id>', 'cluster id', 'dev')
  .option('--override <key=value>', 'broker config for every broker (repeatable)', keyValue, {})
  .option('--log-level <level>', 'broker log level', 'warn')
  .action(async (opts) => {
    const { runDevCluster } = await import('./dev-cluster-command.js');
    await runDevCluster(opts);
  });

const operator = program
  .command('operator')
  .description('run the Kubernetes operator (KafkaCluster, KafkaTopic)')
  .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
  .option('--namespace <ns>', 'watch only this namespace (default: $WATCH_NAMESPACE, else all)')
  .option(
    '--http-listen <host:port>',
    'HTTP listener for /metrics, /healthz, /readyz',
    hostPort,
    hostPort('0.0.0.0:8080'),
  )
  .option('--resync-seconds <s>', 're-check every resource this often (topic drift)', (v) => Number(v), 60)
  .option(
    '--bootstrap <host:port,...>',
    'reach every cluster at this Kafka bootstrap address (instead of in-cluster DNS)',
  )
  .option('--control <id=host:port,...>', "brokers' control-plane addresses (instead of in-cluster DNS)")
  .option('--workers <n>', 'reconciles in parallel per kind', (v) => Number(v), 2)
  .option(
    '--leader-elect',
    'run reconcilers only while holding the leader Lease (more than one replica)',
    false,
  )
  .option('--leader-election-namespace <ns>', "the Lease's namespace (default: $POD_NAMESPACE)")
  .option('--leader-election-id <name>', "the Lease's name", 'sluice-operator-leader')
  .option('--leader-election-identity <id>', 'this candidate (default: hostname_uuid)')
  .option(
    '--leader-election-lease-duration-seconds <s>',
    'a Lease not renewed this long may be taken over',
    seconds,
    15,
  )
  .option(
    '--leader-election-renew-deadline-seconds <s>',
    'the leader gives up after failing to renew this long',
    seconds,
    10,
  )
  .option('--leader-election-retry-period-seconds <s>', 'how often to try to acquire or renew', seconds, 2)
  .option(
    '--broker-cluster-role <name>',
    'ClusterRole (get nodes) bound to broker pods of clusters with spec.rack',
    'sluice-broker',
  )
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .action(async (opts) => {
    const { runOperator } = await import('./operator-command.js');
    await runOperator(opts);
  });

operator
  .command('rack')
  .description("(broker init container) write the node's topology label to a file for broker.rack")
  .requiredOption('--topology-key <label>', 'node label holding the rack, e.g. topology.kubernetes.io/zone')
  .requiredOption('--node <name>', 'node name (downward API spec.nodeName)')
  .requiredOption('--output <file>', 'file to write')
  .action(async (opts) => {
    const { runRackInit } = await import('./operator-command.js');
    await runRackInit(opts);
  });

await program.parseAsync(process.argv);
