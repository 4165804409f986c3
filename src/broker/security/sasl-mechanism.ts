/**
 * What every server-side SASL mechanism implements (Java's SaslServer, as Kafka drives it): take the
 * client's bytes, answer with the server's bytes, until `complete`. A failure is a SaslFailure:
 *   - `clientMessage` set: Kafka's SaslAuthenticationException, whose message the client sees;
 *   - `clientMessage` null: Kafka's SaslException, which the client only sees as the generic
 *     "Authentication failed during authentication due to invalid credentials with SASL mechanism X"
 *     (so an unknown user and a wrong password look the same from outside).
 * `reason` is for the broker's log only and never holds a secret (no password, token or proof).
 */
import type { KafkaPrincipal } from './principal.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanismName = (typeof SASL_MECHANISMS)[number];

export function isSupportedMechanism(m: string): m is SaslMechanismName {
  return (SASL_MECHANISMS as readonly string[]).includes(m);
}

export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
  constructor(
    /** For the log: why, without secrets. */
    readonly reason: string,
    /** What the client is told; null = the generic invalid-credentials sentence. */
    readonly clientMessage: string | null = null,
  ) {
    super(reason);
  }
}

export interface SaslServer {
  readonly mechanism: SaslMechanismName;
  /** Evaluate one client message; returns the server's answer (possibly empty). Throws SaslFailure. */
  evaluate(token: Buffer): Buffer | Promise<Buffer>;
  readonly complete: boolean;
  /** After completion: who authenticated. */
  principal(): KafkaPrincipal;
  /**
   * After completion: when the credential stops being valid (ms since the epoch), for KIP-368's
   * session lifetime; undefined when the credential does not expire (PLAIN, SCRAM).
   */
  credentialExpiresAtMs(): number | undefined;
}
