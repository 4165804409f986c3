/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks them (ScramSaslServer,
 * ScramMessages, ScramFormatter):
 *
 *   client-first   n,[a=authzid],n=<saslname>,r=<client nonce>[,ext=value…]
 *   server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
 *   client-final   c=<base64 gs2 header>,r=<nonce>,p=<base64 ClientProof>
 *   server-final   v=<base64 ServerSignature>
 *
 *   SaltedPassword = Hi(password, salt, i)          (PBKDF2 with HMAC-H, one hash length)
 *   ClientKey = HMAC(SaltedPassword, "Client Key")  StoredKey = H(ClientKey)
 *   ServerKey = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * The broker keeps only salt, iterations, StoredKey and ServerKey (never the password or the salted
 * password): it checks a proof by recovering ClientKey and hashing it. Names are ASCII, with ',' and
 * '=' written as =2C and =3D (Kafka's ScramFormatter.username). Pure, apart from random nonces.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  SCRAM_MECHANISMS,
  hmac,
  hash,
  clientKey,
  storedKey,
  serverKey,
  saltedPassword,
  toSaslName,
  fromSaslName,
  type ScramMechanismName,
  type ScramMechanismInfo,
  type ScramCredential,
  type ScramCredentialLookup,
} from '../../common/scram-credential.js';
import { SaslFailure, type SaslServer } from './sasl-mechanism.js';
import { userPrincipal, type KafkaPrincipal } from './principal.js';

// The credential math is shared with the controller; re-exported for the broker's own importers.
export {
  SCRAM_MECHANISMS,
  scramMechanismByType,
  isScramMechanism,
  clientKey,
  storedKey,
  serverKey,
  saltedPassword,
  credentialFromSaltedPassword,
  makeCredential,
  toSaslName,
  fromSaslName,
  type ScramMechanismName,
  type ScramMechanismInfo,
  type ScramCredential,
  type ScramCredentialLookup,
} from '../../common/scram-credential.js';

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function nonce(): string {
  // Printable, no ',' (RFC 5802); Kafka uses 130 random bits in base 36.
  return randomBytes(24).toString('base64url');
}

// ---- ScramMessages (Kafka's regular expressions, with Java's class intersections spelled out) ----

const VALUE = '[\\x01-\\x2B\\x2D-\\x7F]+'; // [\x01-\x7F&&[^,]]
const PRINTABLE = '[\\x21-\\x2B\\x2D-\\x7E]+'; // [\x21-\x7E&&[^,]]
const SASLNAME = '(?:[\\x01-\\x2B\\x2D-\\x3C\\x3E-\\x7F]|=2C|=3D)+'; // [\x01-\x7F&&[^=,]] | =2C | =3D
const B64C = '[a-zA-Z0-9/+]';
const BASE64 = `(?:${B64C}{4})*(?:${B64C}{3}=|${B64C}{2}==)?`;
const RESERVED = `(?:m=${VALUE},)?`;
const EXTENSIONS = `(?:,[A-Za-z]+=${VALUE})*`;

const CLIENT_FIRST = new RegExp(
  `^n,(?:a=(?<authzid>${SASLNAME}))?,(?<bare>${RESERVED}n=(?<saslname>${SASLNAME}),r=(?<nonce>${PRINTABLE})(?<extensions>${EXTENSIONS}))$`,
);
const CLIENT_FINAL = new RegExp(
  `^(?<withoutProof>c=(?<channel>${BASE64}),r=(?<nonce>${PRINTABLE})${EXTENSIONS}),p=(?<proof>${BASE64})$`,
);
const SERVER_FIRST = new RegExp(
  `^${RESERVED}r=(?<nonce>${PRINTABLE}),s=(?<salt>${BASE64}),i=(?<iterations>[0-9]+)${EXTENSIONS}$`,
);
const SERVER_FINAL = new RegExp(`^(?:e=(?<error>[^,=]+)|v=(?<signature>${BASE64})${EXTENSIONS})$`);

function parseExtensions(ext: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of ext.split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    out.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return out;
}

/** The server side of one SCRAM exchange (Kafka's ScramSaslServer). */
export class ScramSaslServer implements SaslServer {
  readonly mechanism: ScramMechanismName;
  readonly #m: ScramMechanismInfo;
  readonly #lookup: ScramCredentialLookup;
  #state: 'first' | 'final' | 'complete' | 'failed' = 'first';
  #credential: ScramCredential | null = null;
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';
  #username = '';

  readonly #serverNonce: () => string;

  /** `serverNonce`: for tests with fixed vectors (RFC 7677); random by default. */
  constructor(
    mechanism: ScramMechanismName,
    lookup: ScramCredentialLookup,
    serverNonce: () => string = nonce,
  ) {
    this.mechanism = mechanism;
    this.#m = SCRAM_MECHANISMS[mechanism];
    this.#lookup = lookup;
    this.#serverNonce = serverNonce;
  }

  get complete(): boolean {
    return this.#state === 'complete';
  }

  principal(): KafkaPrincipal {
    if (this.#state !== 'complete') throw new Error('Authentication exchange has not completed');
    return userPrincipal(this.#username);
  }

  credentialExpiresAtMs(): undefined {
    return undefined;
  }

  evaluate(token: Buffer): Buffer {
    try {
      switch (this.#state) {
        case 'first':
          return this.#first(token.toString('utf8'));
        case 'final':
          return this.#final(token.toString('utf8'));
        default:
          throw new SaslFailure(`Unexpected challenge in Sasl server state ${this.#state.toUpperCase()}`);
      }
    } catch (err) {
      this.#state = 'failed';
      this.#credential = null;
      throw err;
    }
  }

  #first(msg: string): Buffer {
    const m = CLIENT_FIRST.exec(msg);
    if (!m) throw new SaslFailure('Invalid SCRAM client first message format');
    const g = m.groups!;
    const extensions = parseExtensions(g.extensions!);
    let username: string;
    try {
      username = fromSaslName(g.saslname!);
    } catch {
      throw new SaslFailure('Authentication failed: Credentials could not be obtained (invalid user name)');
    }
    // Delegation tokens (tokenauth=true) are not supported: no token can match.
    if (extensions.get('tokenauth')?.toLowerCase() === 'true')
      throw new SaslFailure(`Token Authentication failed: Invalid tokenId : ${username}`);
    const cred = this.#lookup(username, this.mechanism);
    if (!cred) throw new SaslFailure(`Authentication failed: Invalid user credentials (user ${username})`);
    const authzid = g.authzid ?? '';
    if (authzid !== '' && authzid !== username) {
      const text =
        'Authentication failed: Client requested an authorization id that is different from username';
      throw new SaslFailure(text, text);
    }
    if (cred.iterations < this.#m.minIterations)
      throw new SaslFailure(
        `Iterations ${cred.iterations} is less than the minimum ${this.#m.minIterations} for ${this.mechanism}`,
      );
    this.#username = username;
    this.#credential = cred;
    this.#clientFirstBare = g.bare!;
    this.#nonce = g.nonce! + this.#serverNonce();
    this.#serverFirst = `r=${this.#nonce},s=${cred.salt.toString('base64')},i=${cred.iterations}`;
    this.#state = 'final';
    return Buffer.from(this.#serverFirst, 'utf8');
  }

  #final(msg: string): Buffer {
    const m = CLIENT_FINAL.exec(msg);
    if (!m) throw new SaslFailure('Invalid SCRAM client final message format');
    const g = m.groups!;
    if (!g.nonce!.endsWith(this.#nonce))
      throw new SaslFailure('Invalid client nonce in the final client message.');
    const cred = this.#credential!;
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${g.withoutProof!}`;
    const proof = Buffer.from(g.proof!, 'base64');
    if (proof.length !== this.#m.hashLength) throw new SaslFailure('Invalid client credentials');
    const clientSignature = hmac(this.#m, cred.storedKey, authMessage);
    const computedStoredKey = hash(this.#m, xor(clientSignature, proof));
    if (
      computedStoredKey.length !== cred.storedKey.length ||
      !timingSafeEqual(computedStoredKey, cred.storedKey)
    )
      throw new SaslFailure(`Invalid client credentials (user ${this.#username})`);
    const signature = hmac(this.#m, cred.serverKey, authMessage);
    this.#credential = null;
    this.#state = 'complete';
    return Buffer.from(`v=${signature.toString('base64')}`, 'utf8');
  }
}

/**
 * The client side (for the broker's own inter-broker connections and for tests): Kafka's
 * ScramSaslClient. `first()`, then `final(serverFirst)`, then `verify(serverFinal)`.
 */
export class ScramSaslClient {
  readonly #m: ScramMechanismInfo;
  readonly #username: string;
  readonly #password: string;
  readonly #clientNonce = nonce();
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | null = null;

  constructor(mechanism: ScramMechanismName, username: string, password: string) {
    this.#m = SCRAM_MECHANISMS[mechanism];
    this.#username = username;
    this.#password = password;
  }

  first(): Buffer {
    this.#clientFirstBare = `n=${toSaslName(this.#username)},r=${this.#clientNonce}`;
    return Buffer.from(`n,,${this.#clientFirstBare}`, 'utf8');
  }

  async final(serverFirstBytes: Buffer): Promise<Buffer> {
    const serverFirst = serverFirstBytes.toString('utf8');
    const m = SERVER_FIRST.exec(serverFirst);
    if (!m) throw new SaslFailure('Invalid SCRAM server first message format');
    const g = m.groups!;
    if (!g.nonce!.startsWith(this.#clientNonce))
      throw new SaslFailure('Invalid server nonce: does not start with client nonce');
    const iterations = Number(g.iterations);
    if (iterations < this.#m.minIterations)
      throw new SaslFailure(
        `Requested iterations ${iterations} is less than the minimum ${this.#m.minIterations}`,
      );
    const salted = await saltedPassword(this.#m, this.#password, Buffer.from(g.salt!, 'base64'), iterations);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${g.nonce!}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const ck = clientKey(this.#m, salted);
    const proof = xor(ck, hmac(this.#m, storedKey(this.#m, ck), authMessage));
    this.#expectedServerSignature = hmac(this.#m, serverKey(this.#m, salted), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  verify(serverFinalBytes: Buffer): void {
    const m = SERVER_FINAL.exec(serverFinalBytes.toString('utf8'));
    if (!m) throw new SaslFailure('Invalid SCRAM server final message format');
    if (m.groups!.error !== undefined)
      throw new SaslFailure(
        `Sasl authentication using ${this.#m.name} failed with error: ${m.groups!.error}`,
      );
    const sig = Buffer.from(m.groups!.signature!, 'base64');
    const expected = this.#expectedServerSignature;
    if (!expected || sig.length !== expected.length || !timingSafeEqual(sig, expected))
      throw new SaslFailure('Invalid server signature in server final message');
  }
}
