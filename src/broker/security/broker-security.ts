/**
 * BrokerSecurity: everything the broker needs to know "who is this connection", built once at
 * startup from the config (every error is an InvalidConfigError before anything is bound):
 *
 *   - per listener: its security protocol, the TLS server side (SSL, SASL_SSL) and the SASL
 *     settings (SASL_PLAINTEXT, SASL_SSL), handed to its SocketServer;
 *   - the SCRAM credentials (table + frontend over the metadata store) and their APIs' handlers,
 *     with SaslHandshake/SaslAuthenticate's KafkaApis answers;
 *   - the inter-broker client's security (replica fetchers) and the control plane's auth;
 *   - bootstrap SCRAM users (`sluice broker --add-scram`, as `kafka-storage format --add-scram`).
 *
 * Owns the TLS file watchers and JWKS refreshes (stop()).
 */
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { BROKER_CONFIG, type BrokerConfig } from '../../common/broker-config.js';
import { InvalidConfigError } from '../../common/config-def.js';
import type { ListenerConfig } from '../../common/listener-config.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataStore } from '../../controller/metadata-store.js';
import { ScramCredentialTable } from '../../controller/scram-table.js';
import { createScramCredentialIfAbsent } from '../../controller/scram-frontend.js';
import type { ScramAdmin } from '../../controller/scram-admin.js';
import type { ControlPlaneAuth } from '../../controller/grpc/control-plane-auth.js';
import type { ApiHandler } from '../handlers/api-handler.js';
import { saslHandshakeHandler } from '../handlers/sasl-handshake.js';
import { saslAuthenticateHandler } from '../handlers/sasl-authenticate.js';
import { scramCredentialHandlers } from '../handlers/scram-credentials.js';
import type { AuthHelper } from './authorizer-helper.js';
import { interBrokerClientSecurity, PLAINTEXT_CLIENT, type ClientSecurity } from './client-security.js';
import { ListenerConfigView } from './listener-config-view.js';
import { saslServerSettings } from './sasl-config.js';
import { PLAINTEXT_LISTENER, type ListenerSecurity } from './listener-security.js';
import { makeCredential, SCRAM_MECHANISMS, isScramMechanism, type ScramCredentialLookup } from './scram.js';
import { SecurityMetrics } from './security-metrics.js';
import { TlsListener } from './tls-listener.js';

/** A bootstrap SCRAM user, Kafka's `--add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]'`. */
export interface ScramBootstrapUser {
  mechanism: keyof typeof SCRAM_MECHANISMS;
  name: string;
  password: string;
  iterations: number;
}

/** Parse `kafka-storage format --add-scram` syntax: MECHANISM=[name=…,password=…(,iterations=…)]. */
export function parseAddScram(spec: string): ScramBootstrapUser {
  const m = /^\s*([A-Z0-9-]+)\s*=\s*\[(.*)\]\s*$/.exec(spec);
  if (!m)
    throw new InvalidConfigError(
      '--add-scram',
      `--add-scram ${spec}: expected MECHANISM=[name=…,password=…]`,
    );
  const mechanism = m[1]!;
  if (!isScramMechanism(mechanism))
    throw new InvalidConfigError('--add-scram', `--add-scram: unknown SCRAM mechanism ${mechanism}`);
  const kv = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    kv.set(
      part.slice(0, i).trim(),
      part
        .slice(i + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  const name = kv.get('name');
  const password = kv.get('password');
  if (!name || password === undefined)
    throw new InvalidConfigError('--add-scram', `--add-scram ${mechanism}: name and password are required`);
  const iterations = Number(kv.get('iterations') ?? 4096);
  const info = SCRAM_MECHANISMS[mechanism];
  if (!Number.isInteger(iterations) || iterations < info.minIterations || iterations > info.maxIterations)
    throw new InvalidConfigError(
      '--add-scram',
      `--add-scram: iterations must be between ${info.minIterations} and ${info.maxIterations}`,
    );
  return { mechanism, name, password, iterations };
}

/**
 * Every listener's security and the inter-broker client's, from the config; throws
 * InvalidConfigError. Reads the key and trust files but starts nothing (the CLI runs it to refuse a
 * bad config before starting).
 */
export function buildListenerSecurity(
  config: BrokerConfig,
  listeners: ListenerConfig,
  log: Logger,
  metrics: SecurityMetrics | null,
  scram: ScramCredentialLookup,
): { listeners: Map<string, ListenerSecurity>; interBrokerClient: ClientSecurity } {
  const def = (name: string) => BROKER_CONFIG.get(name);
  const delay = Number(config.value('connection.failed.authentication.delay.ms') ?? 100);
  const out = new Map<string, ListenerSecurity>();
  for (const l of listeners.listeners) {
    const view = new ListenerConfigView(config, l.name, def);
    const p = l.securityProtocol;
    const tls = p === 'SSL' || p === 'SASL_SSL' ? new TlsListener(view, p, log, metrics) : null;
    const sasl = p === 'SASL_PLAINTEXT' || p === 'SASL_SSL' ? saslServerSettings(view, { scram, log }) : null;
    out.set(l.name, { securityProtocol: p, tls, sasl, metrics, failedAuthDelayMs: delay });
  }
  const ib = listeners.listeners.find((l) => l.name === listeners.interBrokerListenerName)!;
  const interBrokerClient =
    ib.securityProtocol === 'PLAINTEXT'
      ? PLAINTEXT_CLIENT
      : interBrokerClientSecurity(
          new ListenerConfigView(config, ib.name, def),
          ib.securityProtocol,
          config.str('sasl.mechanism.inter.broker.protocol') ?? 'GSSAPI',
        );
  return { listeners: out, interBrokerClient };
}

export class BrokerSecurity {
  readonly metrics: SecurityMetrics;
  readonly scramTable: ScramCredentialTable;
  readonly interBrokerClient: ClientSecurity;
  readonly #controlPlaneSecret: string | null;
  readonly #listeners = new Map<string, ListenerSecurity>();
  readonly #bootstrap: ScramBootstrapUser[];
  readonly #log: Logger;
  readonly #store: MetadataStore;
  readonly #root: string;

  /** Reads and checks every listener's security config; throws InvalidConfigError. */
  constructor(o: {
    config: BrokerConfig;
    listeners: ListenerConfig;
    store: MetadataStore;
    root: string;
    registry: Registry | null;
    log: Logger;
    addScram?: ScramBootstrapUser[];
  }) {
    this.#log = o.log.child({ component: 'security' });
    this.metrics = new SecurityMetrics(o.registry);
    this.scramTable = new ScramCredentialTable(o.store, o.root);
    this.#store = o.store;
    this.#root = o.root;
    this.#bootstrap = o.addScram ?? [];
    const table = this.scramTable;
    const built = buildListenerSecurity(o.config, o.listeners, this.#log, this.metrics, (u, m) =>
      table.get(u, m),
    );
    for (const [name, l] of built.listeners) this.#listeners.set(name, l);
    this.interBrokerClient = built.interBrokerClient;
    this.#controlPlaneSecret = o.config.str('sluice.control.plane.secret');
  }

  /**
   * The control plane's auth (cluster mode; loads gRPC, which a single node never needs). Throws
   * InvalidConfigError when the inter-broker security cannot secure it.
   */
  async controlPlaneAuth(): Promise<ControlPlaneAuth> {
    const { controlPlaneAuth, derivedSecret, OPEN_CONTROL_PLANE } =
      await import('../../controller/grpc/control-plane-auth.js');
    const secret = this.#controlPlaneSecret ?? derivedSecret(this.interBrokerClient.sasl);
    if (this.interBrokerClient.tls === null && secret === null) {
      if (this.anySecured)
        this.#log.warn(
          'the control plane (gRPC) is not authenticated: the inter-broker listener is PLAINTEXT; set sluice.control.plane.secret',
        );
      return OPEN_CONTROL_PLANE;
    }
    try {
      const auth = controlPlaneAuth({ tls: this.interBrokerClient.tls, secret });
      this.#log.info({ mode: auth.mode }, 'control plane authentication');
      return auth;
    } catch (err) {
      throw new InvalidConfigError('sluice.control.plane.secret', (err as Error).message);
    }
  }

  listener(name: string): ListenerSecurity {
    return this.#listeners.get(name) ?? PLAINTEXT_LISTENER;
  }

  /** Whether any listener authenticates (for the warning about an open control plane). */
  get anySecured(): boolean {
    return [...this.#listeners.values()].some((l) => l.securityProtocol !== 'PLAINTEXT');
  }

  /**
   * SaslHandshake/SaslAuthenticate (their KafkaApis answers) and the SCRAM credential APIs.
   */
  /** `auth`: the SCRAM APIs' CLUSTER checks. */
  handlers(auth: AuthHelper, scram: ScramAdmin): ApiHandler[] {
    return [
      saslHandshakeHandler() as ApiHandler,
      saslAuthenticateHandler() as ApiHandler,
      ...scramCredentialHandlers(this.scramTable, scram, auth),
    ];
  }

  async start(): Promise<void> {
    await this.scramTable.start();
    for (const l of this.#listeners.values()) await l.sasl?.start();
    for (const u of this.#bootstrap) {
      if (this.scramTable.get(u.name, u.mechanism)) continue;
      const cred = await makeCredential(
        SCRAM_MECHANISMS[u.mechanism],
        u.password,
        u.iterations,
        randomBytes(32),
      );
      const wrote = await createScramCredentialIfAbsent(
        this.#store,
        this.scramTable,
        this.#root,
        u.name,
        u.mechanism,
        cred,
      );
      if (wrote)
        this.#log.info(
          { user: u.name, mechanism: u.mechanism },
          'created bootstrap SCRAM credential (--add-scram)',
        );
    }
  }

  /** A dynamic broker config changed: TLS listeners re-read their keystores (Kafka's reconfigure). */
  reloadTls(): void {
    for (const l of this.#listeners.values()) l.tls?.check();
  }

  async stop(): Promise<void> {
    for (const l of this.#listeners.values()) {
      l.tls?.stop();
      l.sasl?.stop();
    }
    await this.scramTable.stop();
  }
}
