/**
 * Who a connection is, as Kafka's KafkaPrincipal: a type (always `User` for the principals Kafka's
 * DefaultKafkaPrincipalBuilder makes) and a name:
 *   - PLAINTEXT, and SSL without a client certificate: User:ANONYMOUS;
 *   - SSL with a client certificate (mTLS): the certificate's subject DN in RFC 2253 form
 *     ("CN=alice,OU=eng,O=example"), mapped through ssl.principal.mapping.rules;
 *   - SASL_PLAINTEXT / SASL_SSL: the SASL authorization id (PLAIN and SCRAM: the user name;
 *     OAUTHBEARER: the token's subject claim).
 * `tokenAuthenticated` is Kafka's flag for a SCRAM login with a delegation token (none yet).
 *
 * This is the one type the authorizer and quotas read from ConnectionContext.principal.
 */

export interface KafkaPrincipal {
  readonly principalType: string;
  readonly name: string;
  readonly tokenAuthenticated?: boolean;
}

export const USER_TYPE = 'User';

export const ANONYMOUS: KafkaPrincipal = Object.freeze({ principalType: USER_TYPE, name: 'ANONYMOUS' });

export function userPrincipal(name: string): KafkaPrincipal {
  return Object.freeze({ principalType: USER_TYPE, name });
}

/** Kafka's KafkaPrincipal.toString: "User:alice" (what ACLs and logs name). */
export function principalToString(p: KafkaPrincipal): string {
  return `${p.principalType}:${p.name}`;
}

export function samePrincipal(a: KafkaPrincipal, b: KafkaPrincipal): boolean {
  return a.principalType === b.principalType && a.name === b.name;
}
