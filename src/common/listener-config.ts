/**
 * Named listeners, with Kafka's keys and rules (KafkaConfig / SocketServerConfigs):
 *
 *   listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094      where each listener binds
 *   advertised.listeners=INTERNAL://b0.svc:9092,EXTERNAL://1.2.3.4:31000   what clients are told
 *   listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT
 *   inter.broker.listener.name=INTERNAL                             what brokers use to reach brokers
 *
 * Listener names are case-insensitive (kept upper-cased, as Kafka's ListenerName does). A listener
 * absent from advertised.listeners advertises its own host:port (an empty host advertises this
 * machine's host name); advertising 0.0.0.0 or :: is an error, as in Kafka. Port 0 binds a free port
 * and advertises the one bound. Every security protocol is served: PLAINTEXT, SSL, SASL_PLAINTEXT,
 * SASL_SSL; each listener's TLS and SASL settings (`listener.name.<name>.ssl.*`, `….sasl.*`) are
 * resolved by src/broker/security/.
 * Pure: no I/O (the host name aside).
 */
import { hostname } from 'node:os';
import { InvalidConfigError } from './config-def.js';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export const SUPPORTED_SECURITY_PROTOCOLS: readonly SecurityProtocol[] = SECURITY_PROTOCOLS;

/** Kafka's default map: every security protocol is also a listener name of its own. */
export const DEFAULT_SECURITY_PROTOCOL_MAP = SECURITY_PROTOCOLS.map((p) => `${p}:${p}`).join(',');

export interface EndpointSpec {
  name: string;
  /** '' means every interface (to bind) or this machine's host name (to advertise). */
  host: string;
  port: number;
}

export interface Listener {
  name: string;
  securityProtocol: SecurityProtocol;
  /** Where the socket server binds; '' means every interface. */
  host: string;
  port: number;
  /** What this broker registers for the listener; port 0 means "the port bound". */
  advertisedHost: string;
  advertisedPort: number;
}

export interface ListenerConfig {
  /** In the order of `listeners`. */
  listeners: Listener[];
  interBrokerListenerName: string;
}

/** The raw values of the four keys (null when unset). */
export interface ListenerKeys {
  listeners: string | null;
  advertisedListeners: string | null;
  securityProtocolMap: string | null;
  interBrokerListenerName: string | null;
}

const NAME = /^[A-Za-z0-9._-]+$/;
// Kafka's EndPoint regex: NAME://host:port, the host optionally in brackets (IPv6).
const ENDPOINT = /^(.*):\/\/\[?([0-9a-zA-Z\-%._:]*)\]?:(\d+)$/;

/** Parse a `listeners`-style list: comma separated NAME://host:port. */
export function parseEndpoints(key: string, value: string): EndpointSpec[] {
  const out: EndpointSpec[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = ENDPOINT.exec(item);
    if (!m) throw new InvalidConfigError(key, `Invalid value ${item} for ${key}: expected NAME://HOST:PORT`);
    const name = m[1]!.toUpperCase();
    if (!NAME.test(name))
      throw new InvalidConfigError(
        key,
        `Invalid listener name "${m[1]}" in ${key}: use letters, digits, '.', '_' and '-'`,
      );
    const port = Number(m[3]);
    if (port > 65535) throw new InvalidConfigError(key, `Invalid port ${port} in ${key}: ${item}`);
    out.push({ name, host: m[2]!, port });
  }
  return out;
}

function parseProtocolMap(value: string): Map<string, string> {
  const key = 'listener.security.protocol.map';
  const out = new Map<string, string>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const i = item.lastIndexOf(':');
    if (i <= 0)
      throw new InvalidConfigError(key, `Invalid value ${item} for ${key}: expected LISTENER:PROTOCOL`);
    const name = item.slice(0, i).trim().toUpperCase();
    const protocol = item
      .slice(i + 1)
      .trim()
      .toUpperCase();
    if (out.has(name))
      throw new InvalidConfigError(key, `Invalid ${key}: listener ${name} is mapped more than once`);
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol))
      throw new InvalidConfigError(
        key,
        `Invalid ${key}: unknown security protocol "${item.slice(i + 1).trim()}" for listener ${name} (expected one of ${SECURITY_PROTOCOLS.join(', ')})`,
      );
    out.set(name, protocol);
  }
  return out;
}

const NON_ROUTABLE = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/** Validate the four keys together and resolve every listener; throws InvalidConfigError. */
export function resolveListeners(keys: ListenerKeys): ListenerConfig {
  const listenersValue = keys.listeners ?? 'PLAINTEXT://127.0.0.1:9092';
  const endpoints = parseEndpoints('listeners', listenersValue);
  if (endpoints.length === 0)
    throw new InvalidConfigError('listeners', 'listeners must name at least one listener');
  const names = endpoints.map((e) => e.name);
  if (new Set(names).size !== names.length)
    throw new InvalidConfigError(
      'listeners',
      `Each listener must have a different name, listeners: ${listenersValue}`,
    );
  // Port 0 (a free port) may repeat, as in Kafka's own tests.
  const ports = endpoints.map((e) => e.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length)
    throw new InvalidConfigError(
      'listeners',
      `Each listener must have a different port, listeners: ${listenersValue}`,
    );

  const protocolMap = parseProtocolMap(keys.securityProtocolMap ?? DEFAULT_SECURITY_PROTOCOL_MAP);

  const advertised = new Map<string, EndpointSpec>();
  for (const a of keys.advertisedListeners === null
    ? []
    : parseEndpoints('advertised.listeners', keys.advertisedListeners)) {
    if (advertised.has(a.name))
      throw new InvalidConfigError(
        'advertised.listeners',
        `Each listener must have a different name, advertised.listeners: ${keys.advertisedListeners}`,
      );
    if (!names.includes(a.name))
      throw new InvalidConfigError(
        'advertised.listeners',
        `advertised.listeners listener names must be equal to or a subset of the ones defined in listeners; ${a.name} is not in listeners (${names.join(', ')})`,
      );
    advertised.set(a.name, a);
  }

  const listeners = endpoints.map((e): Listener => {
    const protocol = protocolMap.get(e.name);
    if (protocol === undefined)
      throw new InvalidConfigError(
        'listener.security.protocol.map',
        `No security protocol defined for listener ${e.name}: add ${e.name}:PLAINTEXT to listener.security.protocol.map`,
      );
    if (!(SUPPORTED_SECURITY_PROTOCOLS as readonly string[]).includes(protocol))
      throw new InvalidConfigError(
        'listener.security.protocol.map',
        `Listener ${e.name} uses security protocol ${protocol}, which Sluice does not support yet (only ${SUPPORTED_SECURITY_PROTOCOLS.join(', ')})`,
      );
    const adv = advertised.get(e.name) ?? e;
    if (NON_ROUTABLE.has(adv.host))
      throw new InvalidConfigError(
        'advertised.listeners',
        `advertised.listeners cannot use the nonroutable meta-address ${adv.host} (listener ${e.name}). Use a routable IP address or host name${advertised.has(e.name) ? '' : ', set with advertised.listeners (or --advertise)'}.`,
      );
    return {
      name: e.name,
      securityProtocol: protocol as SecurityProtocol,
      host: e.host,
      port: e.port,
      advertisedHost: adv.host === '' ? hostname() : adv.host,
      advertisedPort: adv.port,
    };
  });

  const ibl = keys.interBrokerListenerName?.trim().toUpperCase() || listeners[0]!.name;
  if (!names.includes(ibl))
    throw new InvalidConfigError(
      'inter.broker.listener.name',
      `inter.broker.listener.name must be a listener name defined in listeners; ${ibl} is not one of ${names.join(', ')}`,
    );
  return { listeners, interBrokerListenerName: ibl };
}
