/**
 * ConnectionQuotas: the broker's connection limits, with Kafka's semantics (SocketServer.scala's
 * ConnectionQuotas, KIP-308 per-listener limits, KIP-612 creation rates). One instance per broker,
 * shared by every listener's SocketServer, which asks it at each accepted socket:
 *
 *  1. `recordConnectionAndGetThrottleMs`: the creation rate. The connection is counted against
 *     `max.connection.creation.rate` (broker-wide, except on the protected inter-broker listener) and
 *     the listener's own rate (`listener.name.<l>.max.connection.creation.rate`, falling back to the
 *     broker-wide key as Kafka's valuesWithPrefixOverride does); over either, the answer is how long the
 *     listener's acceptor must wait before taking it (at most quota.window.size.seconds). Kafka's
 *     acceptor thread blocks for that long; Sluice's acceptor queues the socket (unread) for that long,
 *     and every socket behind it waits too, as behind Kafka's blocked acceptor.
 *  2. `slotAvailable`: the listener is below its `max.connections` (prefixed, else the broker-wide key)
 *     and, unless it is the protected inter-broker listener (Kafka protects it when there is more than
 *     one listener), the broker is below `max.connections`. Without a slot the acceptor waits until a
 *     connection closes or the limit is raised: nothing is refused.
 *  3. `inc`: the per-IP creation rate, the client quota `connection_creation_rate` of the entity
 *     `ip` (the IP's own, else the default IP entity's; KIP-612's third level): over it the connection
 *     is not counted and is closed once its throttle time has passed (Kafka's ConnectionThrottledException
 *     and delayed close); then the per-IP limit (`max.connections.per.ip`,
 *     `max.connections.per.ip.overrides` by IP or host name): over it the connection is refused at
 *     once ("Rejected connection from …") and closed.
 *  4. `dec` when a connection closes wakes the acceptors waiting for a slot.
 *
 * Every key is read from the BrokerConfig at each use, so dynamic updates (IncrementalAlterConfigs,
 * per broker or the cluster default) apply to the next connection; `configChanged` also wakes waiting
 * acceptors and makes listeners close their oldest connections while the broker is over a lowered
 * `max.connections` (Kafka's Processor.closeExcessConnections).
 *
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { BrokerConfig } from '../../common/broker-config.js';
import type { Logger } from '../../common/logger.js';
import { SampledRate } from '../../common/sampled-rate.js';
import { parseConnectionOverrides } from '../../common/connection-overrides.js';

export { parseConnectionOverrides };

const INT_MAX = 2 ** 31 - 1;

/** What the quotas need from the config: a raw value by key (BrokerConfig in the broker). */
export type ConfigSource = Pick<BrokerConfig, 'raw'>;

export interface ConnectionQuotasOptions {
  config: ConfigSource;
  /** Every listener's name, upper case as in `listeners`. */
  listeners: string[];
  interBrokerListener: string;
  /** quota.window.num and quota.window.size.seconds (read-only keys: read once). */
  windowSamples: number;
  windowSeconds: number;
  log: Logger;
  registry?: Registry;
  now?: () => number;
  /** The IP's `connection_creation_rate` client quota (connections/s), or null when it has none. */
  ipConnectionRate?: (ip: string) => number | null;
}

/** Why `inc` refused a connection: over the per-IP limit (close now) or the IP's rate (close later). */
export type ConnectionRefusal = { reason: 'per_ip'; max: number } | { reason: 'ip_rate'; throttleMs: number };

/** A socket-server hook: called when a slot may have freed or a limit changed. */
export interface AcceptorHooks {
  /** Try again to take the sockets waiting in the acceptor's queue. */
  wake(): void;
  /** Close up to `n` of this listener's connections (oldest first); returns how many it closed. */
  closeExcess(n: number): number;
}

/** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are the IPv4 address, as Java's InetAddress has it. */
export function normalizeIp(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address.toLowerCase();
}

export interface ConnectionQuotaMetrics {
  rejected: Counter<'listener' | 'reason'>;
  accepted: Counter<'listener'>;
  throttled: Counter<'listener'>;
  throttleMs: Counter<'listener'>;
  blockedSeconds: Counter<'listener'>;
}

function createMetrics(registry: Registry | undefined): ConnectionQuotaMetrics {
  const registers = registry ? [registry] : [];
  return {
    accepted: new Counter({
      name: 'sluice_connections_accepted_total',
      help: 'Connections accepted, per listener (Kafka: socket-server-metrics connection-accept-rate)',
      labelNames: ['listener'],
      registers,
    }),
    rejected: new Counter({
      name: 'sluice_connections_rejected_total',
      help: "Connections refused and closed, per listener and reason (per_ip: max.connections.per.ip or its override; ip_rate: the IP's connection_creation_rate quota, closed after the throttle time; backlog: the acceptor queue was full while waiting for a slot)",
      labelNames: ['listener', 'reason'],
      registers,
    }),
    throttled: new Counter({
      name: 'sluice_connection_accept_throttled_total',
      help: 'Connections delayed by max.connection.creation.rate (broker or listener), per listener',
      labelNames: ['listener'],
      registers,
    }),
    throttleMs: new Counter({
      name: 'sluice_connection_accept_throttle_time_ms_total',
      help: 'Throttle time given to delayed connections (Kafka: connection-accept-throttle-time), per listener',
      labelNames: ['listener'],
      registers,
    }),
    blockedSeconds: new Counter({
      name: 'sluice_acceptor_blocked_seconds_total',
      help: "Time a listener's acceptor waited for a connection slot or a creation-rate throttle (Kafka: kafka.network:type=Acceptor,name=AcceptorBlockedPercent)",
      labelNames: ['listener'],
      registers,
    }),
  };
}

export class ConnectionQuotas {
  readonly #o: ConnectionQuotasOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #perIp = new Map<string, number>();
  readonly #perListener = new Map<string, number>();
  #total = 0;
  readonly #brokerRate: SampledRate;
  readonly #listenerRates = new Map<string, SampledRate>();
  /** Per-IP creation rates, for IPs with a connection_creation_rate quota. */
  readonly #ipRates = new Map<string, SampledRate>();
  readonly #acceptors = new Map<string, AcceptorHooks>();
  /** The overrides' raw text last parsed, and its entries by IP (host names once resolved). */
  #overridesRaw: string | null = null;
  #overrides = new Map<string, number>();
  readonly metrics: ConnectionQuotaMetrics;

  constructor(o: ConnectionQuotasOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'connection-quotas' });
    this.#now = o.now ?? Date.now;
    const cfg = { samples: o.windowSamples, windowMs: o.windowSeconds * 1000 };
    this.#brokerRate = new SampledRate(cfg);
    for (const l of o.listeners) {
      this.#perListener.set(l, 0);
      this.#listenerRates.set(l, new SampledRate(cfg));
    }
    this.metrics = createMetrics(o.registry);
    this.#refreshOverrides();
  }

  /** A listener's acceptor registers to be woken (slot freed, limit raised) and asked to shed load. */
  register(listener: string, hooks: AcceptorHooks): void {
    this.#acceptors.set(listener, hooks);
  }

  get totalCount(): number {
    return this.#total;
  }

  countFor(ip: string): number {
    return this.#perIp.get(normalizeIp(ip)) ?? 0;
  }

  #int(key: string, fallback: number): number {
    const raw = this.#o.config.raw(key);
    if (raw === null) return fallback;
    const n = Number(raw.trim());
    return Number.isInteger(n) ? n : fallback;
  }

  /** Kafka's ListenerName.configPrefix: listener.name.<lower-case name>. */
  #listenerKey(listener: string, key: string): string {
    return `listener.name.${listener.toLowerCase()}.${key}`;
  }

  get brokerMaxConnections(): number {
    return this.#int('max.connections', INT_MAX);
  }

  maxListenerConnections(listener: string): number {
    return this.#int(this.#listenerKey(listener, 'max.connections'), this.brokerMaxConnections);
  }

  #brokerMaxRate(): number {
    return this.#int('max.connection.creation.rate', INT_MAX);
  }

  #listenerMaxRate(listener: string): number {
    return this.#int(this.#listenerKey(listener, 'max.connection.creation.rate'), this.#brokerMaxRate());
  }

  /** Kafka protects the inter-broker listener from the broker-wide limits when there are others. */
  isProtected(listener: string): boolean {
    return listener === this.#o.interBrokerListener && this.#perListener.size > 1;
  }

  maxConnectionsPerIp(ip: string): number {
    this.#refreshOverrides();
    return this.#overrides.get(normalizeIp(ip)) ?? this.#int('max.connections.per.ip', INT_MAX);
  }

  /**
   * Count a new connection against the creation rates; 0, or how long the acceptor waits before it
   * takes the connection (Kafka's recordConnectionAndGetThrottleTimeMs).
   */
  recordConnectionAndGetThrottleMs(listener: string): number {
    const now = this.#now();
    const maxThrottle = this.#o.windowSeconds * 1000;
    let throttle = 0;
    if (!this.isProtected(listener))
      throttle = this.#brokerRate.recordAndThrottleMs(1, this.#brokerMaxRate(), now, maxThrottle);
    const lr = this.#listenerRates.get(listener);
    if (lr)
      throttle = Math.max(
        throttle,
        lr.recordAndThrottleMs(1, this.#listenerMaxRate(listener), now, maxThrottle),
      );
    if (throttle > 0) {
      this.metrics.throttled.inc({ listener });
      this.metrics.throttleMs.inc({ listener }, throttle);
    }
    return throttle;
  }

  /** Whether the listener may take one more connection now (Kafka's connectionSlotAvailable). */
  slotAvailable(listener: string): boolean {
    if ((this.#perListener.get(listener) ?? 0) >= this.maxListenerConnections(listener)) return false;
    if (this.isProtected(listener)) return true;
    return this.#total < this.brokerMaxConnections;
  }

  /**
   * Count an accepted connection. Returns null, or why it is refused (it is then not counted): over
   * the IP's creation rate, to be closed after the throttle time; over the per-IP limit, to be closed
   * now (Kafka's TooManyConnectionsException).
   */
  inc(listener: string, address: string): ConnectionRefusal | null {
    const ip = normalizeIp(address);
    const rate = this.#o.ipConnectionRate?.(ip) ?? null;
    if (rate !== null) {
      let r = this.#ipRates.get(ip);
      if (!r) {
        r = new SampledRate({ samples: this.#o.windowSamples, windowMs: this.#o.windowSeconds * 1000 });
        this.#ipRates.set(ip, r);
      }
      const now = this.#now();
      const throttleMs = r.recordAndThrottleMs(1, rate, now, this.#o.windowSeconds * 1000);
      if (throttleMs > 0) {
        r.record(-1, now); // not accepted: Kafka takes the connection back out of the IP's rate
        this.metrics.rejected.inc({ listener, reason: 'ip_rate' });
        this.metrics.throttleMs.inc({ listener }, throttleMs);
        return { reason: 'ip_rate', throttleMs };
      }
    } else this.#ipRates.delete(ip);
    const count = this.#perIp.get(ip) ?? 0;
    const max = this.maxConnectionsPerIp(ip);
    if (count >= max) {
      this.metrics.rejected.inc({ listener, reason: 'per_ip' });
      this.#log.info(
        { ip, listener },
        `Rejected connection from ${ip}, address already has the configured maximum of ${max} connections.`,
      );
      return { reason: 'per_ip', max };
    }
    this.#perIp.set(ip, count + 1);
    this.#perListener.set(listener, (this.#perListener.get(listener) ?? 0) + 1);
    this.#total++;
    this.metrics.accepted.inc({ listener });
    if (this.isProtected(listener)) this.#closeExcess();
    return null;
  }

  /** A counted connection closed: free its slot and wake the waiting acceptors. */
  dec(listener: string, address: string): void {
    const ip = normalizeIp(address);
    const count = this.#perIp.get(ip) ?? 0;
    if (count <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count - 1);
    const lc = this.#perListener.get(listener) ?? 0;
    if (lc > 0) this.#perListener.set(listener, lc - 1);
    if (this.#total > 0) this.#total--;
    this.#wakeAll();
  }

  /** Dynamic configs changed: re-read the overrides, wake waiting acceptors, shed excess connections. */
  configChanged(): void {
    this.#refreshOverrides();
    this.#closeExcess();
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const a of this.#acceptors.values()) a.wake();
  }

  /**
   * Kafka's Processor.closeExcessConnections: while the broker holds more than max.connections (the
   * protected listener may take it over, or the limit was lowered), unprotected listeners close their
   * lowest-priority connections (Sluice: the oldest).
   */
  #closeExcess(): void {
    let excess = this.#total - this.brokerMaxConnections;
    if (excess <= 0) return;
    for (const [listener, a] of this.#acceptors) {
      if (excess <= 0) break;
      if (this.isProtected(listener)) continue;
      excess -= a.closeExcess(excess);
    }
  }

  /** Parse max.connections.per.ip.overrides when its text changed; host names resolve in the background. */
  #refreshOverrides(): void {
    const raw = this.#o.config.raw('max.connections.per.ip.overrides') ?? '';
    if (raw === this.#overridesRaw) return;
    this.#overridesRaw = raw;
    let parsed: Map<string, number>;
    try {
      parsed = parseConnectionOverrides(raw);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'ignoring invalid max.connections.per.ip.overrides');
      this.#overrides = new Map();
      return;
    }
    const byIp = new Map<string, number>();
    const hosts: [string, number][] = [];
    for (const [host, n] of parsed) {
      if (isIP(host)) byIp.set(normalizeIp(host), n);
      else hosts.push([host, n]);
    }
    this.#overrides = byIp;
    if (hosts.length === 0) return;
    // Kafka resolves host names when the config is read (InetAddress.getByName); here the resolution
    // lands a moment later, into the map of the same config text only.
    void Promise.all(
      hosts.map(async ([host, n]) => {
        try {
          const addrs = await lookup(host, { all: true });
          if (this.#overridesRaw !== raw) return;
          for (const a of addrs) if (!byIp.has(normalizeIp(a.address))) byIp.set(normalizeIp(a.address), n);
        } catch (err) {
          this.#log.warn(
            { host, err: (err as Error).message },
            'max.connections.per.ip.overrides: host not resolved',
          );
        }
      }),
    );
  }
}
