/**
 * ScramCredentialTable: every broker's in-memory view of the SCRAM credentials in the metadata store
 * (Kafka's ScramImage), built from one range read and an ordered watch of its prefix (its
 * WatchedPrefix), so a credential written through any broker is used by every broker within the
 * watch's delay. A failed watch is replaced by applying the difference of a new read, so an
 * authentication never finds the credentials missing meanwhile.
 *
 *   <root>/scram/<mechanism>/<user, URI-encoded>   {"salt","storedKey","serverKey" (base64),"iterations"}
 *
 * Only what SCRAM verification needs is stored: never a password or salted password. Reads are
 * synchronous (the SASL server looks a user up per authentication). It never writes
 * (ScramCredentialFrontend does).
 */
import type { MetadataStore, WatchEvent } from './metadata-store.js';
import { WatchedPrefix } from './watched-prefix.js';
import { logger } from '../common/logger.js';
import {
  isScramMechanism,
  type ScramCredential,
  type ScramMechanismName,
} from '../common/scram-credential.js';

interface StoredCredential {
  salt: string;
  storedKey: string;
  serverKey: string;
  iterations: number;
}

export function scramPrefix(root: string): string {
  return `${root}/scram/`;
}

export function scramKey(root: string, mechanism: ScramMechanismName, user: string): string {
  return `${scramPrefix(root)}${mechanism}/${encodeURIComponent(user)}`;
}

export function encodeCredential(c: ScramCredential): string {
  const doc: StoredCredential = {
    salt: c.salt.toString('base64'),
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
    iterations: c.iterations,
  };
  return JSON.stringify(doc);
}

function decodeCredential(value: string): ScramCredential {
  const d = JSON.parse(value) as StoredCredential;
  return {
    salt: Buffer.from(d.salt, 'base64'),
    storedKey: Buffer.from(d.storedKey, 'base64'),
    serverKey: Buffer.from(d.serverKey, 'base64'),
    iterations: d.iterations,
  };
}

export class ScramCredentialTable {
  readonly #root: string;
  readonly #log = logger('scram-table');
  /** user → mechanism → credential */
  readonly #users = new Map<string, Map<ScramMechanismName, ScramCredential>>();
  readonly #mirror: WatchedPrefix;

  constructor(store: MetadataStore, root: string) {
    this.#root = root;
    this.#mirror = new WatchedPrefix({
      store,
      prefix: scramPrefix(root),
      name: 'scram-table',
      apply: (e) => this.#apply(e),
    });
  }

  start(): Promise<void> {
    return this.#mirror.start();
  }

  stop(): Promise<void> {
    return this.#mirror.stop();
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes after a write). */
  waitForRevision(revision: number): Promise<void> {
    return this.#mirror.waitForRevision(revision);
  }

  #apply(e: WatchEvent): void {
    const rest = e.key.slice(scramPrefix(this.#root).length).split('/');
    if (rest.length !== 2) return;
    const mechanism = rest[0]!;
    if (!isScramMechanism(mechanism)) return;
    let user: string;
    try {
      user = decodeURIComponent(rest[1]!);
    } catch {
      return;
    }
    if (e.type === 'delete') {
      const m = this.#users.get(user);
      m?.delete(mechanism);
      if (m?.size === 0) this.#users.delete(user);
      return;
    }
    try {
      const c = decodeCredential(e.value!);
      let m = this.#users.get(user);
      if (!m) this.#users.set(user, (m = new Map()));
      m.set(mechanism, c);
    } catch (err) {
      this.#log.error({ key: e.key, err }, 'ignoring a SCRAM credential that does not decode');
    }
  }

  get(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    return this.#users.get(user)?.get(mechanism);
  }

  /** user → the mechanisms it has credentials for, with their iteration counts. */
  users(): Map<string, Map<ScramMechanismName, number>> {
    const out = new Map<string, Map<ScramMechanismName, number>>();
    for (const [u, m] of this.#users) out.set(u, new Map([...m].map(([k, c]) => [k, c.iterations])));
    return out;
  }
}
