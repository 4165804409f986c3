/**
 * What a SocketServer needs to secure its listener: the security protocol, the TLS server side (SSL,
 * SASL_SSL) and the SASL settings (SASL_PLAINTEXT, SASL_SSL). Built by BrokerSecurity.
 */
import type { SecurityProtocol } from '../../common/listener-config.js';
import type { SaslServerSettings } from './sasl-config.js';
import type { SecurityMetrics } from './security-metrics.js';
import type { TlsListener } from './tls-listener.js';

export interface ListenerSecurity {
  readonly securityProtocol: SecurityProtocol;
  readonly tls: TlsListener | null;
  readonly sasl: SaslServerSettings | null;
  readonly metrics: SecurityMetrics | null;
  /** connection.failed.authentication.delay.ms */
  readonly failedAuthDelayMs: number;
}

export const PLAINTEXT_LISTENER: ListenerSecurity = {
  securityProtocol: 'PLAINTEXT',
  tls: null,
  sasl: null,
  metrics: null,
  failedAuthDelayMs: 0,
};
