/**
 * A SASL listener's settings from Kafka's configs, and the factory of per-connection SASL servers:
 *
 *   sasl.enabled.mechanisms                       (per listener: listener.name.<l>.sasl.enabled.mechanisms)
 *   listener.name.<l>.<mechanism>.sasl.jaas.config  the login module's options: PLAIN's user_<name>=…,
 *                                                 OAUTHBEARER's unsecuredValidator* options, and the
 *                                                 broker's own username/password for inter-broker use
 *   listener.name.<l>.<mechanism>.connections.max.reauth.ms
 *   sasl.oauthbearer.jwks.endpoint.url …          signed-JWT validation (else unsecured tokens, as Kafka's default)
 *   sasl.server.max.receive.size                  the largest frame before authentication completes
 *
 * SCRAM credentials come from the metadata store (ScramCredentialTable), not from the config.
 * Unprefixed `sasl.jaas.config`, which Kafka's broker ignores with a warning, is read last.
 */
import { InvalidConfigError } from '../../common/config-def.js';
import type { Logger } from '../../common/logger.js';
import { parseJaasConfig, type JaasEntry } from './jaas.js';
import type { ListenerConfigView } from './listener-config-view.js';
import {
  JwksSource,
  JwtValidator,
  OAuthBearerSaslServer,
  UnsecuredJwsValidator,
  unsecuredOptionsFromJaas,
  type TokenValidator,
} from './oauthbearer.js';
import { PlainSaslServer, plainUsersFromJaas } from './plain.js';
import {
  isSupportedMechanism,
  SASL_MECHANISMS,
  type SaslMechanismName,
  type SaslServer,
} from './sasl-mechanism.js';
import { isScramMechanism, ScramSaslServer, type ScramCredentialLookup } from './scram.js';

export interface SaslServerSettings {
  readonly mechanisms: SaslMechanismName[];
  newServer(mechanism: SaslMechanismName): SaslServer;
  /** KIP-368 connections.max.reauth.ms for a mechanism; 0 = no expiry from the broker's side. */
  reauthMs(mechanism: SaslMechanismName): number;
  readonly maxReceiveSize: number;
  start(): Promise<void>;
  stop(): void;
}

/** The JAAS entry for a mechanism on a listener, or null; throws InvalidConfigError when it does not parse. */
export function jaasFor(v: ListenerConfigView, mechanism: string, log?: Logger): JaasEntry | null {
  let src = v.mechRawWithSource(mechanism, 'sasl.jaas.config');
  if (src.value === null) return null;
  if (src.from === 'sasl.jaas.config' || src.from === `${v.prefix}sasl.jaas.config`) {
    log?.warn(
      { key: src.from, listener: v.listenerName, mechanism },
      `${src.from} is not prefixed with the SASL mechanism; Kafka's broker ignores it, Sluice reads it for ${mechanism}. Use ${v.prefix}${mechanism.toLowerCase()}.sasl.jaas.config`,
    );
  }
  try {
    return parseJaasConfig(src.value!);
  } catch (err) {
    src = { ...src, value: null };
    throw new InvalidConfigError(src.from, `Invalid ${src.from}: ${(err as Error).message}`);
  }
}

export function enabledMechanisms(v: ListenerConfigView): SaslMechanismName[] {
  const list = v.list('sasl.enabled.mechanisms');
  const key = v.listenerSet('sasl.enabled.mechanisms')
    ? `${v.prefix}sasl.enabled.mechanisms`
    : 'sasl.enabled.mechanisms';
  if (list.length === 0)
    throw new InvalidConfigError(key, `No SASL mechanisms are enabled for listener ${v.listenerName}`);
  for (const m of list) {
    if (m === 'GSSAPI')
      throw new InvalidConfigError(
        key,
        `SASL mechanism GSSAPI (Kerberos) is not supported; set ${key} to some of ${SASL_MECHANISMS.join(', ')} for listener ${v.listenerName}`,
      );
    if (!isSupportedMechanism(m))
      throw new InvalidConfigError(
        key,
        `Unsupported SASL mechanism ${m} in ${key} (supported: ${SASL_MECHANISMS.join(', ')})`,
      );
  }
  return [...new Set(list)] as SaslMechanismName[];
}

export function saslServerSettings(
  v: ListenerConfigView,
  deps: { scram: ScramCredentialLookup; log: Logger },
): SaslServerSettings {
  const mechanisms = enabledMechanisms(v);
  const factories = new Map<SaslMechanismName, () => SaslServer>();
  const sources: JwksSource[] = [];
  for (const m of mechanisms) {
    const jaas = jaasFor(v, m, deps.log);
    if (m === 'PLAIN') {
      if (!jaas)
        throw new InvalidConfigError(
          `${v.prefix}plain.sasl.jaas.config`,
          `SASL/PLAIN on listener ${v.listenerName} needs users: set ${v.prefix}plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_<name>="<password>" …;`,
        );
      const users = plainUsersFromJaas(jaas.options);
      factories.set(m, () => new PlainSaslServer(() => users));
    } else if (isScramMechanism(m)) {
      factories.set(m, () => new ScramSaslServer(m, deps.scram));
    } else {
      const url = v.mechRaw(m, 'sasl.oauthbearer.jwks.endpoint.url');
      const handler = v.mechRaw(m, 'sasl.server.callback.handler.class');
      let validator: TokenValidator;
      if (url !== null && url !== '') {
        const source = new JwksSource(
          url,
          Number(v.mechValue(m, 'sasl.oauthbearer.jwks.endpoint.refresh.ms')),
        );
        sources.push(source);
        const aud = v.mechValue(m, 'sasl.oauthbearer.expected.audience');
        validator = new JwtValidator({
          keys: () => source.keys(),
          expectedAudience: Array.isArray(aud) ? aud.filter(Boolean) : [],
          expectedIssuer: v.mechRaw(m, 'sasl.oauthbearer.expected.issuer'),
          subClaimName: v.mechRaw(m, 'sasl.oauthbearer.sub.claim.name') ?? 'sub',
          scopeClaimName: v.mechRaw(m, 'sasl.oauthbearer.scope.claim.name') ?? 'scope',
          clockSkewSeconds: Number(v.mechValue(m, 'sasl.oauthbearer.clock.skew.seconds')),
        });
      } else if (handler !== null && /OAuthBearerValidatorCallbackHandler$/.test(handler)) {
        throw new InvalidConfigError(
          'sasl.oauthbearer.jwks.endpoint.url',
          `${handler} on listener ${v.listenerName} needs sasl.oauthbearer.jwks.endpoint.url`,
        );
      } else {
        validator = new UnsecuredJwsValidator(unsecuredOptionsFromJaas(jaas?.options ?? {}));
        deps.log.warn(
          { listener: v.listenerName },
          'OAUTHBEARER accepts unsecured (unsigned) tokens on this listener, as Kafka does by default: set sasl.oauthbearer.jwks.endpoint.url to validate signed tokens',
        );
      }
      const log = deps.log;
      factories.set(
        m,
        () =>
          new OAuthBearerSaslServer(validator, (reason) =>
            log.info({ listener: v.listenerName, mechanism: m, reason }, 'OAUTHBEARER token refused'),
          ),
      );
    }
  }
  const reauth = new Map(
    mechanisms.map((m) => [m, Number(v.mechValue(m, 'connections.max.reauth.ms') ?? 0)]),
  );
  return {
    mechanisms,
    newServer: (m) => factories.get(m)!(),
    reauthMs: (m) => reauth.get(m) ?? 0,
    maxReceiveSize: v.num('sasl.server.max.receive.size'),
    async start() {
      for (const s of sources) await s.start();
    },
    stop() {
      for (const s of sources) s.stop();
    },
  };
}
