/**
 * SASL/OAUTHBEARER (RFC 7628) as Kafka's OAuthBearerSaslServer, with its two validators:
 *
 *  - unsecured JWS (Kafka's default OAuthBearerUnsecuredValidatorCallbackHandler, for tests and
 *    development): `{"alg":"none"}` header, claims, empty signature; `exp` required, the principal
 *    from `sub` (JAAS option unsecuredValidatorPrincipalClaimName), optional required scope and clock
 *    skew (unsecuredValidatorRequiredScope, unsecuredValidatorAllowableClockSkewMs);
 *  - signed JWT checked against a JSON Web Key Set (Kafka's OAuthBearerValidatorCallbackHandler with
 *    `sasl.oauthbearer.jwks.endpoint.url`): RS/PS/ES 256-512 and EdDSA through node:crypto, `exp` and
 *    `iat` required, `nbf` honoured, `sasl.oauthbearer.expected.audience` / `.expected.issuer`
 *    checked when set, the principal from `sasl.oauthbearer.sub.claim.name`, a clock skew of
 *    `sasl.oauthbearer.clock.skew.seconds`.
 *
 * The exchange: the client sends `n,[a=authzid],\x01auth=Bearer <token>\x01[k=v\x01…]\x01`. A token
 * that validates completes it (empty answer). One that does not is answered with Kafka's JSON error
 * (`{"status":"invalid_token"}`) as a *successful* SaslAuthenticate; the client then sends `\x01` and
 * fails with SASL_AUTHENTICATION_FAILED carrying that JSON, as in Kafka. Why a token was refused is
 * only logged (without the token).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject, type JsonWebKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SaslFailure, type SaslServer } from './sasl-mechanism.js';
import { userPrincipal, type KafkaPrincipal } from './principal.js';

// ---- the client's initial response (Kafka's OAuthBearerClientInitialResponse) ----

const SASLNAME = '(?:[\\x01-\\x2B\\x2D-\\x3C\\x3E-\\x7F]|=2C|=3D)+';
const KVPAIRS = '(?:[A-Za-z]+=[\\x21-\\x7E \\t\\r\\n]+\\x01)*';
const CLIENT_INITIAL = new RegExp(`^n,(?:a=(?<authzid>${SASLNAME}))?,\\x01(?<kvpairs>${KVPAIRS})\\x01$`);
const AUTH = /^(?<scheme>\w+) +(?<token>[-_~+/.a-zA-Z0-9]+=*)$/;

export interface ClientInitialResponse {
  authorizationId: string;
  token: string;
  extensions: Map<string, string>;
}

export function parseClientInitialResponse(bytes: Buffer): ClientInitialResponse {
  const m = CLIENT_INITIAL.exec(bytes.toString('utf8'));
  if (!m) throw new SaslFailure('Invalid OAUTHBEARER client first message');
  const kv = new Map<string, string>();
  for (const pair of m.groups!.kvpairs!.split('\x01').filter(Boolean)) {
    const i = pair.indexOf('=');
    kv.set(pair.slice(0, i), pair.slice(i + 1));
  }
  const auth = kv.get('auth');
  if (auth === undefined)
    throw new SaslFailure("Invalid OAUTHBEARER client first message: 'auth' not specified");
  kv.delete('auth');
  const a = AUTH.exec(auth);
  if (!a) throw new SaslFailure("Invalid OAUTHBEARER client first message: value of 'auth' not specified");
  if (a.groups!.scheme!.toLowerCase() !== 'bearer')
    throw new SaslFailure(`Invalid scheme in OAUTHBEARER client first message: ${a.groups!.scheme!}`);
  return { authorizationId: m.groups!.authzid ?? '', token: a.groups!.token!, extensions: kv };
}

/** The client's initial response for a token (for the broker's own connections and for tests). */
export function clientInitialResponse(token: string, authzid = ''): Buffer {
  return Buffer.from(`n,${authzid ? `a=${authzid}` : ''},\x01auth=Bearer ${token}\x01\x01`, 'utf8');
}

// ---- validators ----

export interface ValidToken {
  principalName: string;
  /** ms since the epoch */
  expiresAtMs: number;
  scope: string[];
}

export type TokenValidation =
  | { ok: true; token: ValidToken }
  | { ok: false; status: 'invalid_token' | 'insufficient_scope'; scope?: string; reason: string };

export interface TokenValidator {
  validate(token: string, nowMs: number): TokenValidation;
}

class InvalidToken extends Error {
  constructor(
    message: string,
    readonly scope?: string,
  ) {
    super(message);
  }
}

function b64urlJson(part: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9+/_-]*=*$/.test(part)) throw new InvalidToken('malformed Base64 URL encoded value');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidToken('malformed JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidToken('malformed JSON');
  return v as Record<string, unknown>;
}

function scopeOf(claims: Record<string, unknown>, name: string): string[] {
  const raw = claims[name];
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.map((x) => String(x).trim()).filter(Boolean);
  return [];
}

function numberClaim(claims: Record<string, unknown>, name: string): number | undefined {
  const v = claims[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new InvalidToken(`The '${name}' claim was not of type Number`);
  return v;
}

export interface UnsecuredOptions {
  principalClaimName?: string;
  scopeClaimName?: string;
  requiredScope?: string[];
  allowableClockSkewMs?: number;
}

/** From the JAAS options of OAuthBearerLoginModule (Kafka's unsecuredValidator* options). */
export function unsecuredOptionsFromJaas(o: Record<string, string>): UnsecuredOptions {
  const skew = o.unsecuredValidatorAllowableClockSkewMs?.trim();
  const out: UnsecuredOptions = {};
  if (o.unsecuredValidatorPrincipalClaimName?.trim())
    out.principalClaimName = o.unsecuredValidatorPrincipalClaimName.trim();
  if (o.unsecuredValidatorScopeClaimName?.trim())
    out.scopeClaimName = o.unsecuredValidatorScopeClaimName.trim();
  if (o.unsecuredValidatorRequiredScope?.trim())
    out.requiredScope = o.unsecuredValidatorRequiredScope.trim().split(' ').filter(Boolean);
  if (skew) {
    const n = Number(skew);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`Allowable clock skew millis must not be negative: ${skew}`);
    out.allowableClockSkewMs = n;
  }
  return out;
}

/** Kafka's OAuthBearerUnsecuredValidatorCallbackHandler. */
export class UnsecuredJwsValidator implements TokenValidator {
  readonly #principalClaim: string;
  readonly #scopeClaim: string;
  readonly #requiredScope: string[];
  readonly #skewMs: number;

  constructor(o: UnsecuredOptions = {}) {
    this.#principalClaim = o.principalClaimName ?? 'sub';
    this.#scopeClaim = o.scopeClaimName ?? 'scope';
    this.#requiredScope = o.requiredScope ?? [];
    this.#skewMs = o.allowableClockSkewMs ?? 0;
  }

  validate(token: string, nowMs: number): TokenValidation {
    try {
      return { ok: true, token: this.#check(token, nowMs) };
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      return err.scope !== undefined
        ? { ok: false, status: 'insufficient_scope', scope: err.scope, reason: err.message }
        : { ok: false, status: 'invalid_token', reason: err.message };
    }
  }

  #check(token: string, now: number): ValidToken {
    if (token.includes('..')) throw new InvalidToken("Malformed compact serialization contains '..'");
    const parts = token.split('.');
    if (parts.length !== 3)
      throw new InvalidToken(
        'Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values',
      );
    const header = b64urlJson(parts[0]!);
    const claims = b64urlJson(parts[1]!);
    if (header.alg !== 'none') throw new InvalidToken("Unsecured JWS must have 'none' for an algorithm");
    if (parts[2] !== '') throw new InvalidToken('Unsecured JWS must not contain a digital signature');
    const exp = numberClaim(claims, 'exp');
    if (exp === undefined) throw new InvalidToken('No expiration time in JWT');
    const principal = claims[this.#principalClaim];
    if (principal === undefined || principal === null)
      throw new InvalidToken(`Required claim missing: ${this.#principalClaim}`);
    if (typeof principal !== 'string')
      throw new InvalidToken(`The ${this.#principalClaim} claim had the incorrect type`);
    if (principal.trim() === '')
      throw new InvalidToken(`No principal name in JWT claim: ${this.#principalClaim}`);
    const iat = numberClaim(claims, 'iat');
    if (iat !== undefined && 1000 * iat > now + this.#skewMs)
      throw new InvalidToken(
        `The Issued At value (${iat} seconds) was after the indicated time (${now} ms) plus allowable clock skew (${this.#skewMs} ms)`,
      );
    if (now - this.#skewMs >= 1000 * exp)
      throw new InvalidToken(
        `The indicated time (${now} ms) minus allowable clock skew (${this.#skewMs} ms) was on or after the Expiration Time value (${exp} seconds)`,
      );
    if (iat !== undefined && exp <= iat)
      throw new InvalidToken(
        `The Expiration Time time (${exp} seconds) was not after the Issued At time (${iat} seconds)`,
      );
    const scope = scopeOf(claims, this.#scopeClaim);
    for (const s of this.#requiredScope)
      if (!scope.includes(s))
        throw new InvalidToken(
          `The provided scope (${scope.join(', ')}) was missing a required scope (${s}).`,
          `[${this.#requiredScope.join(', ')}]`,
        );
    return { principalName: principal, expiresAtMs: Math.round(exp * 1000), scope };
  }
}

// ---- signed JWTs against a JWKS ----

/** Where the keys come from: a file (re-read when it changes) or http(s) (refreshed). */
export class JwksSource {
  readonly #url: URL;
  readonly #refreshMs: number;
  #keys: JsonWebKey[] = [];
  #fileStamp = '';
  #checkedAt = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(url: string, refreshMs = 3_600_000) {
    this.#url = new URL(url);
    this.#refreshMs = refreshMs;
    if (!['file:', 'http:', 'https:'].includes(this.#url.protocol))
      throw new Error(`sasl.oauthbearer.jwks.endpoint.url must be a file:, http: or https: URL, not ${url}`);
  }

  /** Load once (startup fails on an unreadable set), then keep fresh. */
  async start(): Promise<void> {
    if (this.#url.protocol === 'file:') this.#readFile(true);
    else {
      await this.#fetch();
      this.#timer = setInterval(() => void this.#fetch().catch(() => {}), this.#refreshMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  keys(): JsonWebKey[] {
    if (this.#url.protocol === 'file:') this.#readFile(false);
    return this.#keys;
  }

  #readFile(mustWork: boolean): void {
    const now = Date.now();
    if (!mustWork && now - this.#checkedAt < 1000) return;
    this.#checkedAt = now;
    const path = fileURLToPath(this.#url);
    try {
      const st = statSync(path);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp === this.#fileStamp) return;
      this.#keys = parseJwks(readFileSync(path, 'utf8'));
      this.#fileStamp = stamp;
    } catch (err) {
      if (mustWork) throw err;
      // Keep the last good keys while the file is being replaced.
    }
  }

  async #fetch(): Promise<void> {
    const r = await fetch(this.#url, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) throw new Error(`JWKS ${this.#url.href}: HTTP ${r.status}`);
    this.#keys = parseJwks(await r.text());
  }
}

export function parseJwks(text: string): JsonWebKey[] {
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error('JWKS document has no "keys" array');
  return doc.keys as JsonWebKey[];
}

const ALGS: Record<string, { hash: string | null; kty: string; pss?: boolean; ieee?: boolean }> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC', ieee: true },
  ES384: { hash: 'sha384', kty: 'EC', ieee: true },
  ES512: { hash: 'sha512', kty: 'EC', ieee: true },
  EdDSA: { hash: null, kty: 'OKP' },
};

export interface JwtValidatorOptions {
  keys: () => JsonWebKey[];
  expectedAudience?: string[];
  expectedIssuer?: string | null;
  subClaimName?: string;
  scopeClaimName?: string;
  clockSkewSeconds?: number;
}

/** Kafka's ValidatorAccessTokenValidator (jose4j's JwtConsumer), on node:crypto. */
export class JwtValidator implements TokenValidator {
  readonly #o: JwtValidatorOptions;
  readonly #keyCache = new WeakMap<JsonWebKey, KeyObject>();

  constructor(o: JwtValidatorOptions) {
    this.#o = o;
  }

  validate(token: string, nowMs: number): TokenValidation {
    try {
      return { ok: true, token: this.#check(token, nowMs) };
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      return {
        ok: false,
        status: 'invalid_token',
        reason: `Could not validate the access token: ${err.message}`,
      };
    }
  }

  #key(jwk: JsonWebKey): KeyObject {
    let k = this.#keyCache.get(jwk);
    if (!k) {
      k = createPublicKey({ key: jwk, format: 'jwk' });
      this.#keyCache.set(jwk, k);
    }
    return k;
  }

  #check(token: string, now: number): ValidToken {
    const parts = token.split('.');
    if (parts.length !== 3) throw new InvalidToken('Invalid JOSE Compact Serialization');
    const header = b64urlJson(parts[0]!);
    const claims = b64urlJson(parts[1]!);
    const alg = typeof header.alg === 'string' ? header.alg : '';
    const spec = ALGS[alg];
    if (!spec) throw new InvalidToken(`'${alg || 'none'}' is not a permitted algorithm`);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const candidates = this.#o
      .keys()
      .filter(
        (k) =>
          k.kty === spec.kty &&
          (kid === undefined || (k as { kid?: string }).kid === kid) &&
          ((k as { use?: string }).use === undefined || (k as { use?: string }).use === 'sig') &&
          ((k as { alg?: string }).alg === undefined || (k as { alg?: string }).alg === alg),
      );
    if (candidates.length === 0 || (kid === undefined && candidates.length > 1))
      throw new InvalidToken(
        `Unable to find a suitable verification key for JWS w/ header {"alg":"${alg}"${kid ? `,"kid":"${kid}"` : ''}}`,
      );
    const data = Buffer.from(`${parts[0]!}.${parts[1]!}`, 'ascii');
    const sig = Buffer.from(parts[2]!, 'base64url');
    let valid = false;
    try {
      const key = this.#key(candidates[0]!);
      valid = cryptoVerify(
        spec.hash,
        data,
        spec.pss
          ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 /* RSA_PSS_SALTLEN_DIGEST */ }
          : spec.ieee
            ? { key, dsaEncoding: 'ieee-p1363' }
            : key,
        sig,
      );
    } catch {
      valid = false;
    }
    if (!valid) throw new InvalidToken('JWS signature is invalid');
    const skewMs = 1000 * (this.#o.clockSkewSeconds ?? 30);
    const exp = numberClaim(claims, 'exp');
    if (exp === undefined) throw new InvalidToken('No Expiration Time (exp) claim present.');
    const iat = numberClaim(claims, 'iat');
    if (iat === undefined) throw new InvalidToken('No Issued At (iat) claim present.');
    if (now - skewMs >= exp * 1000)
      throw new InvalidToken(
        `The JWT is no longer valid - the evaluation time is on or after the Expiration Time (exp=${exp}) claim value`,
      );
    const nbf = numberClaim(claims, 'nbf');
    if (nbf !== undefined && now + skewMs < nbf * 1000)
      throw new InvalidToken(
        `The JWT is not yet valid as the evaluation time is before the NotBefore (nbf=${nbf}) claim time`,
      );
    const aud = this.#o.expectedAudience ?? [];
    if (aud.length > 0) {
      const tokenAud = claims.aud;
      const list =
        typeof tokenAud === 'string' ? [tokenAud] : Array.isArray(tokenAud) ? tokenAud.map(String) : [];
      if (list.length === 0) throw new InvalidToken('No Audience (aud) claim present.');
      if (!list.some((a) => aud.includes(a)))
        throw new InvalidToken(
          `Audience (aud) claim ${JSON.stringify(list)} doesn't contain an acceptable identifier.`,
        );
    }
    const iss = this.#o.expectedIssuer;
    if (iss) {
      if (claims.iss === undefined) throw new InvalidToken('No Issuer (iss) claim present.');
      if (claims.iss !== iss)
        throw new InvalidToken(
          `Issuer (iss) claim value (${String(claims.iss)}) doesn't match expected value of ${iss}`,
        );
    }
    const subName = this.#o.subClaimName ?? 'sub';
    const sub = claims[subName];
    if (typeof sub !== 'string' || sub.trim() === '')
      throw new InvalidToken(`${subName} value must be non-null and non-empty`);
    return {
      principalName: sub.trim(),
      expiresAtMs: Math.round(exp * 1000),
      scope: scopeOf(claims, this.#o.scopeClaimName ?? 'scope'),
    };
  }
}

// ---- the SASL server ----

export class OAuthBearerSaslServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER' as const;
  readonly #validator: TokenValidator;
  readonly #onRejected: (reason: string) => void;
  #token: ValidToken | null = null;
  #errorMessage: string | null = null;

  constructor(validator: TokenValidator, onRejected: (reason: string) => void = () => {}) {
    this.#validator = validator;
    this.#onRejected = onRejected;
  }

  get complete(): boolean {
    return this.#token !== null;
  }

  principal(): KafkaPrincipal {
    if (!this.#token) throw new Error('Authentication exchange has not completed');
    return userPrincipal(this.#token.principalName);
  }

  credentialExpiresAtMs(): number | undefined {
    return this.#token?.expiresAtMs;
  }

  evaluate(response: Buffer): Buffer {
    if (response.length === 1 && response[0] === 0x01 && this.#errorMessage !== null)
      throw new SaslFailure(`token refused: ${this.#errorMessage}`, this.#errorMessage);
    this.#errorMessage = null;
    const initial = parseClientInitialResponse(response);
    const v = this.#validator.validate(initial.token, Date.now());
    if (!v.ok) {
      this.#onRejected(v.reason);
      this.#errorMessage =
        v.scope !== undefined ? `{"status":"${v.status}", "scope":"${v.scope}"}` : `{"status":"${v.status}"}`;
      return Buffer.from(this.#errorMessage, 'utf8');
    }
    if (initial.authorizationId !== '' && initial.authorizationId !== v.token.principalName) {
      const text = `Authentication failed: Client requested an authorization id (${initial.authorizationId}) that is different from the token's principal name (${v.token.principalName})`;
      throw new SaslFailure(text, text);
    }
    this.#token = v.token;
    return Buffer.alloc(0);
  }
}

/** An unsecured token (what Kafka's OAuthBearerUnsecuredLoginCallbackHandler makes; for tests and the broker's own logins). */
export function unsecuredToken(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none' })}.${enc(claims)}.`;
}
