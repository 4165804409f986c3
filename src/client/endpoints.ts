/** A broker address, and the `host:port,host:port` bootstrap lists Kafka's tools take. */

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * `"a:9092, b:9092,[::1]:9093"` → endpoints, in order. Throws a TypeError for an entry without a
 * valid port: a typo in a bootstrap list should be loud, not a connection to port NaN.
 */
export function parseBootstrap(bootstrap: string): Endpoint[] {
  return bootstrap
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.lastIndexOf(':');
      const port = Number(s.slice(i + 1));
      if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
        throw new TypeError(`bad bootstrap address "${s}" (want host:port)`);
      return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port };
    });
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.host === b.host && a.port === b.port;
}
