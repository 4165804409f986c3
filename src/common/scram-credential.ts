/**
 * SCRAM credentials (RFC 5802, RFC 7677) as Kafka stores them (ScramFormatter, UserScramCredentialRecord):
 * the mechanisms, the stored form of a password (salt, iterations, StoredKey, ServerKey) and the
 * SASL name escaping. Shared by the broker's SCRAM authenticator (src/broker/security/scram.ts) and
 * the controller's credential writes (src/controller/scram-frontend.ts), so it lives below both.
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface ScramMechanismInfo {
  name: ScramMechanismName;
  /** Kafka's ScramMechanism type byte (DescribeUserScramCredentials / AlterUserScramCredentials). */
  type: number;
  hash: 'sha256' | 'sha512';
  hashLength: number;
  minIterations: number;
  maxIterations: number;
}

export const SCRAM_MECHANISMS: Record<ScramMechanismName, ScramMechanismInfo> = {
  'SCRAM-SHA-256': {
    name: 'SCRAM-SHA-256',
    type: 1,
    hash: 'sha256',
    hashLength: 32,
    minIterations: 4096,
    maxIterations: 16384,
  },
  'SCRAM-SHA-512': {
    name: 'SCRAM-SHA-512',
    type: 2,
    hash: 'sha512',
    hashLength: 64,
    minIterations: 4096,
    maxIterations: 16384,
  },
};

export function scramMechanismByType(type: number): ScramMechanismInfo | undefined {
  return Object.values(SCRAM_MECHANISMS).find((m) => m.type === type);
}

export function isScramMechanism(name: string): name is ScramMechanismName {
  return name === 'SCRAM-SHA-256' || name === 'SCRAM-SHA-512';
}

/** What the metadata store keeps per user and mechanism (Kafka's UserScramCredentialRecord). */
export interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

export type ScramCredentialLookup = (
  user: string,
  mechanism: ScramMechanismName,
) => ScramCredential | undefined;

// ---- ScramFormatter ----

export const hmac = (m: ScramMechanismInfo, key: Buffer, data: string | Buffer): Buffer =>
  createHmac(m.hash, key).update(data).digest();
export const hash = (m: ScramMechanismInfo, data: Buffer): Buffer => createHash(m.hash).update(data).digest();

export function clientKey(m: ScramMechanismInfo, saltedPassword: Buffer): Buffer {
  return hmac(m, saltedPassword, 'Client Key');
}

export function storedKey(m: ScramMechanismInfo, clientKeyBytes: Buffer): Buffer {
  return hash(m, clientKeyBytes);
}

export function serverKey(m: ScramMechanismInfo, saltedPassword: Buffer): Buffer {
  return hmac(m, saltedPassword, 'Server Key');
}

/** Hi() of RFC 5802: PBKDF2 with HMAC-H and one hash length of output. Off the event loop. */
export async function saltedPassword(
  m: ScramMechanismInfo,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, m.hashLength, m.hash);
}

/** The stored form of a salted password (what AlterUserScramCredentials carries becomes this). */
export function credentialFromSaltedPassword(
  m: ScramMechanismInfo,
  salt: Buffer,
  salted: Buffer,
  iterations: number,
): ScramCredential {
  return {
    salt,
    storedKey: storedKey(m, clientKey(m, salted)),
    serverKey: serverKey(m, salted),
    iterations,
  };
}

export async function makeCredential(
  m: ScramMechanismInfo,
  password: string,
  iterations = 4096,
  salt: Buffer = randomBytes(32),
): Promise<ScramCredential> {
  return credentialFromSaltedPassword(
    m,
    salt,
    await saltedPassword(m, password, salt, iterations),
    iterations,
  );
}

/** ScramFormatter.saslName: ',' → =2C, '=' → =3D. */
export function toSaslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** ScramFormatter.username: the reverse; any other '=' makes the name invalid. */
export function fromSaslName(saslName: string): string {
  const u = saslName.replace(/=2C/g, ',');
  if (u.replace(/=3D/g, '').includes('=')) throw new Error('Invalid username');
  return u.replace(/=3D/g, '=');
}
