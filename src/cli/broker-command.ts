/**
 * `sluice broker`: builds the broker config from --config, --override and the flags, starts a
 * KafkaServer and shuts it down cleanly on SIGTERM/SIGINT (finish in-flight requests, flush logs,
 * write the clean-shutdown marker). A second signal exits at once.
 */
import { readFileSync } from 'node:fs';
import { pino, type LevelWithSilent } from 'pino';
import { BrokerConfig, parseProperties } from '../common/broker-config.js';
import { InvalidConfigError } from '../common/config-def.js';
import { setRootLogger } from '../common/logger.js';
import { KafkaServer } from '../broker/kafka-server.js';
import {
  buildListenerSecurity,
  parseAddScram,
  type ScramBootstrapUser,
} from '../broker/security/broker-security.js';

export interface BrokerOptions {
  /** One PLAINTEXT listener (short for listeners=PLAINTEXT://HOST:PORT). */
  listen?: { host: string; port: number };
  advertise?: { host: string; port: number };
  dataDir: string;
  nodeId?: number;
  metricsListen?: { host: string; port: number };
  controlListen?: { host: string; port: number };
  config?: string;
  override: Record<string, string>;
  etcd?: string;
  clusterId?: string;
  /** `--add-scram` specs (Kafka's kafka-storage format syntax). */
  addScram?: string[];
  logLevel: string;
}

export async function runBroker(opts: BrokerOptions): Promise<void> {
  const log = pino({
    level: opts.logLevel as LevelWithSilent,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  setRootLogger(log);

  let props: Record<string, string> = {};
  if (opts.config) {
    try {
      props = parseProperties(readFileSync(opts.config, 'utf8'));
    } catch (err) {
      log.fatal({ err }, `cannot read --config ${opts.config}`);
      process.exit(2);
    }
  }
  // Flags fill in what the file does not say; --override wins over both.
  if (!('log.dirs' in props) && !('log.dir' in props)) props['log.dirs'] = opts.dataDir;
  if (opts.nodeId !== undefined) props['node.id'] = String(opts.nodeId);
  props = { ...props, ...opts.override };
  // --listen/--advertise describe one PLAINTEXT listener; mixed with named listeners from the file
  // or --override they would silently lose to one or the other, so that is an error.
  const endpoint = (a: { host: string; port: number }) =>
    `PLAINTEXT://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  if ((opts.listen || opts.advertise) && ('listeners' in props || 'advertised.listeners' in props)) {
    log.fatal(
      `${opts.listen ? '--listen' : '--advertise'} describes a single PLAINTEXT listener; it cannot be combined with listeners or advertised.listeners from --config or --override (set both there instead)`,
    );
    process.exit(2);
  }
  if (opts.listen) props['listeners'] = endpoint(opts.listen);
  if (opts.advertise) props['advertised.listeners'] = endpoint(opts.advertise);

  let config: BrokerConfig;
  let addScram: ScramBootstrapUser[];
  try {
    addScram = (opts.addScram ?? []).map(parseAddScram);
    config = new BrokerConfig(props);
    // The listener keys are checked together (names, protocols, advertised addresses), and each
    // listener's TLS/SASL settings (key files read, mechanisms known), before anything starts.
    buildListenerSecurity(
      config,
      config.listeners,
      log.child({ check: true }, { level: 'error' }),
      null,
      () => undefined,
    );
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      log.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }

  const server = new KafkaServer(config, {
    metricsListen: opts.metricsListen,
    controlListen: opts.controlListen,
    etcd: opts.etcd,
    clusterId: opts.clusterId,
    addScram,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await server.startup();
  } catch (err) {
    log.fatal({ err }, 'broker failed to start');
    process.exit(1);
  }
}
