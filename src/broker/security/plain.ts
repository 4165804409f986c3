/**
 * SASL/PLAIN (RFC 4616) as Kafka's PlainSaslServer: one client message
 * `authzid \0 username \0 password`, checked against the `user_<name>="<password>"` options of the
 * listener's PlainLoginModule JAAS config (Kafka's PlainServerCallbackHandler). The messages the
 * client sees are Kafka's. Passwords are compared in constant time and never logged.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { SaslFailure, type SaslServer } from './sasl-mechanism.js';
import { userPrincipal, type KafkaPrincipal } from './principal.js';

export const PLAIN_USER_PREFIX = 'user_';

/** user name → password, from the JAAS options. */
export function plainUsersFromJaas(options: Record<string, string>): Map<string, string> {
  const users = new Map<string, string>();
  for (const [k, v] of Object.entries(options))
    if (k.startsWith(PLAIN_USER_PREFIX)) users.set(k.slice(PLAIN_USER_PREFIX.length), v);
  return users;
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export class PlainSaslServer implements SaslServer {
  readonly mechanism = 'PLAIN' as const;
  readonly #users: () => ReadonlyMap<string, string>;
  #username: string | null = null;

  constructor(users: () => ReadonlyMap<string, string>) {
    this.#users = users;
  }

  get complete(): boolean {
    return this.#username !== null;
  }

  principal(): KafkaPrincipal {
    if (this.#username === null) throw new Error('Authentication exchange has not completed');
    return userPrincipal(this.#username);
  }

  credentialExpiresAtMs(): undefined {
    return undefined;
  }

  evaluate(token: Buffer): Buffer {
    const tokens = token.toString('utf8').split('\u0000', 4);
    if (tokens.length !== 3) {
      const text = `Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`;
      throw new SaslFailure(text, text);
    }
    const [authzid, username, password] = tokens as [string, string, string];
    if (username === '') {
      const text = 'Authentication failed: username not specified';
      throw new SaslFailure(text, text);
    }
    if (password === '') {
      const text = 'Authentication failed: password not specified';
      throw new SaslFailure(text, text);
    }
    const expected = this.#users().get(username);
    if (expected === undefined || !sameSecret(expected, password)) {
      const text = 'Authentication failed: Invalid username or password';
      throw new SaslFailure(`${text} (user ${username})`, text);
    }
    if (authzid !== '' && authzid !== username) {
      const text =
        'Authentication failed: Client requested an authorization id that is different from username';
      throw new SaslFailure(text, text);
    }
    this.#username = username;
    return Buffer.alloc(0);
  }
}
