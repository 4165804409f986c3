/**
 * A RawClient (exact Kafka requests) authenticated with SASL PLAIN on a SASL_PLAINTEXT listener, for
 * tests that need requests from a named principal. Passwords are `<user>-secret` (plainJaas).
 */
import { expect } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';

/** The PLAIN JAAS config of a listener with these users, each with the password `<user>-secret`. */
export const plainJaas = (users: readonly string[]): string =>
  `org.apache.kafka.common.security.plain.PlainLoginModule required ${users.map((u) => `user_${u}="${u}-secret"`).join(' ')};`;

/** A SASL_PLAINTEXT connection authenticated with PLAIN as `user`. */
export async function connectAs(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  try {
    const hs = await c.request(ApiKeys.SaslHandshake, 1, { mechanism: 'PLAIN' });
    expect(hs.errorCode).toBe(0);
    const auth = await c.request(ApiKeys.SaslAuthenticate, 2, {
      authBytes: Buffer.from(`\u0000${user}\u0000${user}-secret`),
    });
    expect(auth.errorCode, auth.errorMessage ?? '').toBe(0);
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}
