/**
 * Authentication counters, as Kafka's socket-server metrics (successful-authentication-total,
 * failed-authentication-total, successful-reauthentication-total, failed-reauthentication-total,
 * expired-connections-killed-count), by listener and mechanism; and TLS certificate reloads and the
 * served certificate's expiry, which certificate rotation is watched by.
 * `mechanism` is the SASL mechanism, "SSL" for a failed TLS handshake or client certificate, or ""
 * when a connection failed before choosing one.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class SecurityMetrics {
  readonly successfulAuthentication: Counter<'listener' | 'mechanism'>;
  readonly failedAuthentication: Counter<'listener' | 'mechanism'>;
  readonly successfulReauthentication: Counter<'listener' | 'mechanism'>;
  readonly failedReauthentication: Counter<'listener' | 'mechanism'>;
  readonly expiredConnectionsKilled: Counter<'listener'>;
  readonly certificateReloads: Counter<'listener' | 'result'>;
  readonly certificateNotAfter: Gauge<'listener'>;

  constructor(registry: Registry | null) {
    const registers = registry ? [registry] : [];
    this.successfulAuthentication = new Counter({
      name: 'sluice_successful_authentication_total',
      help: 'Connections that authenticated (SASL, or TLS with a client certificate)',
      labelNames: ['listener', 'mechanism'],
      registers,
    });
    this.failedAuthentication = new Counter({
      name: 'sluice_failed_authentication_total',
      help: 'Connections refused during authentication (bad credentials, bad SASL exchange, untrusted client certificate)',
      labelNames: ['listener', 'mechanism'],
      registers,
    });
    this.successfulReauthentication = new Counter({
      name: 'sluice_successful_reauthentication_total',
      help: 'KIP-368 re-authentications that succeeded',
      labelNames: ['listener', 'mechanism'],
      registers,
    });
    this.failedReauthentication = new Counter({
      name: 'sluice_failed_reauthentication_total',
      help: 'KIP-368 re-authentications that failed',
      labelNames: ['listener', 'mechanism'],
      registers,
    });
    this.expiredConnectionsKilled = new Counter({
      name: 'sluice_expired_connections_killed_total',
      help: 'Connections closed because their SASL session expired without re-authentication',
      labelNames: ['listener'],
      registers,
    });
    this.certificateReloads = new Counter({
      name: 'sluice_tls_certificate_reloads_total',
      help: 'Keystore/truststore reloads of a TLS listener, by result (ok, error)',
      labelNames: ['listener', 'result'],
      registers,
    });
    this.certificateNotAfter = new Gauge({
      name: 'sluice_tls_certificate_not_after_seconds',
      help: 'The expiry (Unix time) of the certificate a TLS listener serves',
      labelNames: ['listener'],
      registers,
    });
  }
}
