/**
 * The SASL side of one connection on a SASL_PLAINTEXT or SASL_SSL listener: Kafka's
 * SaslServerAuthenticator state machine, run by the Connection before any request reaches KafkaApis.
 *
 *   HANDSHAKE_OR_VERSIONS  ApiVersions (once; answered by KafkaApis) or SaslHandshake
 *   HANDSHAKE              after ApiVersions: SaslHandshake
 *   AUTHENTICATE           SaslHandshake v1: SaslAuthenticate requests (v0-2) carry the tokens;
 *                          SaslHandshake v0: the tokens come as raw size-prefixed frames, answered
 *                          the same way (pre-KIP-152 clients)
 *   COMPLETE               requests go to KafkaApis with the authenticated principal
 *   FAILED                 the failure answer (after connection.failed.authentication.delay.ms), then close
 *
 * Anything else before COMPLETE closes the connection (Kafka's IllegalSaslStateException): another
 * API before the handshake, SaslAuthenticate before SaslHandshake, an API other than SaslAuthenticate
 * while authenticating (SaslHandshake then gets ILLEGAL_SASL_STATE first, as Kafka builds for it), a
 * frame that is not a Kafka request, an unsupported SaslAuthenticate version.
 *
 * KIP-368: when the session has a lifetime (connections.max.reauth.ms, or an OAUTHBEARER token's
 * expiry) it is sent as session_lifetime_ms (SaslAuthenticate v1+); a SaslHandshake on an
 * authenticated connection then starts a re-authentication (at most one per second) with the same
 * mechanism and the same principal; a connection whose session expired is closed on its next request
 * other than a re-authentication (the Connection asks `sessionExpired`).
 */
import { ByteReader, ByteWriter, DecodeError } from '../../protocol/primitives.js';
import {
  decodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from '../../protocol/messages/headers.js';
import { requestHeaderVersion, responseHeaderVersion } from '../../protocol/messages/index.js';
import {
  decodeSaslHandshakeRequest,
  encodeSaslHandshakeResponse,
  type SaslHandshakeResponse,
} from '../../protocol/messages/sasl-handshake.js';
import {
  decodeSaslAuthenticateRequest,
  encodeSaslAuthenticateResponse,
  type SaslAuthenticateResponse,
} from '../../protocol/messages/sasl-authenticate.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Logger } from '../../common/logger.js';
import { ANONYMOUS, principalToString, samePrincipal, type KafkaPrincipal } from './principal.js';
import { SaslFailure, type SaslMechanismName, type SaslServer } from './sasl-mechanism.js';
import type { SaslServerSettings } from './sasl-config.js';
import type { SecurityMetrics } from './security-metrics.js';

export const API_VERSIONS = 18;
export const SASL_HANDSHAKE = 17;
export const SASL_AUTHENTICATE = 36;
const API_VERSIONS_MAX = 4;
const SASL_HANDSHAKE_MAX = 1;
const SASL_AUTHENTICATE_MAX = 2;
const MIN_REAUTH_INTERVAL_MS = 1000;

type State =
  | 'HANDSHAKE_OR_VERSIONS'
  | 'HANDSHAKE'
  | 'AUTHENTICATE'
  | 'COMPLETE'
  | 'FAILED'
  | 'REAUTH_HANDSHAKE'
  | 'REAUTH_BAD_MECHANISM';

/** What the Connection does with one frame the authenticator took. */
export interface AuthOutcome {
  /** Frame body to send (response header + body, or a raw v0 token), without the size prefix. */
  response: Buffer | null;
  /** Hand the frame to KafkaApis instead (ApiVersions before authentication). */
  passToApis?: boolean;
  /** Close the connection after sending the response. */
  close?: boolean;
}

export interface AuthenticatorContext {
  listenerName: string;
  log: Logger;
  metrics: SecurityMetrics | null;
  /** connection.failed.authentication.delay.ms */
  failedAuthDelayMs: number;
  now?: () => number;
}

const GENERIC = (phase: string, mechanism: string) =>
  `Authentication failed during ${phase} due to invalid credentials with SASL mechanism ${mechanism}`;

/** A request version this broker speaks: 0..max (the header's int16 may be negative on the wire). */
const versionIn = (version: number, max: number): boolean => version >= 0 && version <= max;

export class SaslServerAuthenticator {
  readonly #settings: SaslServerSettings;
  readonly #ctx: AuthenticatorContext;
  readonly #now: () => number;
  #state: State = 'HANDSHAKE_OR_VERSIONS';
  #server: SaslServer | null = null;
  #mechanism: SaslMechanismName | null = null;
  #kafkaHeaders = false;
  #principal: KafkaPrincipal = ANONYMOUS;
  #sessionExpiresAt: number | null = null;
  #lastReauthStart = 0;
  #clientSupportsReauth = false;
  /** While re-authenticating: who and how the connection authenticated before. */
  #previous: { mechanism: SaslMechanismName; principal: KafkaPrincipal } | null = null;
  #badMechanismMessage = '';

  constructor(settings: SaslServerSettings, ctx: AuthenticatorContext) {
    this.#settings = settings;
    this.#ctx = ctx;
    this.#now = ctx.now ?? Date.now;
  }

  /** Authenticated and not re-authenticating: requests go to KafkaApis. */
  get complete(): boolean {
    return this.#state === 'COMPLETE';
  }

  /** ANONYMOUS until the first authentication completes; unchanged by re-authentication. */
  get principal(): KafkaPrincipal {
    return this.#principal;
  }

  get mechanism(): SaslMechanismName | null {
    return this.#mechanism;
  }

  get maxReceiveSize(): number {
    return this.#settings.maxReceiveSize;
  }

  get sessionExpiresAtMs(): number | null {
    return this.#sessionExpiresAt;
  }

  sessionExpired(now = this.#now()): boolean {
    return this.#sessionExpiresAt !== null && now > this.#sessionExpiresAt;
  }

  /**
   * Whether the authenticator takes this frame: every frame before authentication completes and
   * while re-authenticating, and on an authenticated connection a SaslHandshake that may start a
   * re-authentication (the session has a lifetime; none started within the last second).
   */
  wantsFrame(frame: Buffer): boolean {
    if (this.#state !== 'COMPLETE') return true;
    if (frame.length < 4 || frame.readInt16BE(0) !== SASL_HANDSHAKE) return false;
    if (this.#sessionExpiresAt === null) return false;
    const now = this.#now();
    if (this.#lastReauthStart !== 0 && now - this.#lastReauthStart < MIN_REAUTH_INTERVAL_MS) return false;
    this.#lastReauthStart = now;
    this.#previous = { mechanism: this.#mechanism!, principal: this.#principal };
    this.#state = 'REAUTH_HANDSHAKE';
    this.#server = null;
    return true;
  }

  /** A frame too large for sasl.server.max.receive.size arrived before authentication. */
  onOversizedFrame(size: number): void {
    this.#fail(
      `Failing SASL authentication due to invalid receive size (${size} > ${this.#settings.maxReceiveSize})`,
    );
  }

  /** The connection closed before authenticating (counted as a failure only when it had started). */
  async onFrame(frame: Buffer): Promise<AuthOutcome> {
    try {
      switch (this.#state) {
        case 'HANDSHAKE_OR_VERSIONS':
        case 'HANDSHAKE':
        case 'REAUTH_HANDSHAKE':
          return this.#kafkaRequest(frame);
        case 'AUTHENTICATE':
          return await this.#token(frame);
        case 'REAUTH_BAD_MECHANISM':
          throw new SaslFailure(this.#badMechanismMessage);
        case 'COMPLETE':
        case 'FAILED':
          throw new SaslFailure(`Unexpected frame in SASL state ${this.#state}`);
      }
    } catch (err) {
      if (err instanceof AuthFailed) {
        await this.#delay();
        return { response: err.response, close: true };
      }
      if (err instanceof SaslFailure) {
        this.#fail(err.reason);
        await this.#delay();
        return { response: null, close: true };
      }
      throw err;
    }
  }

  #delay(): Promise<void> {
    const ms = this.#ctx.failedAuthDelayMs;
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }

  #phase(): string {
    return this.#previous ? 're-authentication' : 'authentication';
  }

  #fail(reason: string): void {
    if (this.#state === 'FAILED') return;
    this.#state = 'FAILED';
    const mechanism = this.#mechanism ?? '';
    const labels = { listener: this.#ctx.listenerName, mechanism };
    if (this.#previous) this.#ctx.metrics?.failedReauthentication.inc(labels);
    else this.#ctx.metrics?.failedAuthentication.inc(labels);
    this.#ctx.log.info(
      {
        mechanism: mechanism || undefined,
        ...(this.#previous ? { principal: principalToString(this.#previous.principal) } : {}),
        reason,
      },
      this.#previous ? 'SASL re-authentication failed' : 'SASL authentication failed',
    );
  }

  #header(frame: Buffer): { header: RequestHeader; r: ByteReader } {
    if (frame.length < 8) throw new SaslFailure(`request of ${frame.length} bytes is not a Kafka request`);
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const r = new ByteReader(frame);
    try {
      return { header: decodeRequestHeader(r, requestHeaderVersion(apiKey, version)), r };
    } catch (err) {
      throw new SaslFailure(`invalid request header: ${(err as Error).message}`);
    }
  }

  #respond(h: RequestHeader, encode: (w: ByteWriter) => void): Buffer {
    const w = new ByteWriter(128);
    encodeResponseHeader(
      w,
      { correlationId: h.correlationId },
      responseHeaderVersion(h.requestApiKey, h.requestApiVersion),
    );
    encode(w);
    return Buffer.from(w.finish());
  }

  #handshakeResponse(h: RequestHeader, res: SaslHandshakeResponse): Buffer {
    return this.#respond(h, (w) => encodeSaslHandshakeResponse(w, res, h.requestApiVersion));
  }

  #authenticateResponse(h: RequestHeader, res: SaslAuthenticateResponse): Buffer {
    return this.#respond(h, (w) => encodeSaslAuthenticateResponse(w, res, h.requestApiVersion));
  }

  #kafkaRequest(frame: Buffer): AuthOutcome {
    const { header: h, r } = this.#header(frame);
    const key = h.requestApiKey;
    if (key === API_VERSIONS && this.#state === 'HANDSHAKE_OR_VERSIONS') {
      // KafkaApis answers (its UNSUPPORTED_VERSION answer lets the client retry: the state stays).
      if (versionIn(h.requestApiVersion, API_VERSIONS_MAX)) this.#state = 'HANDSHAKE';
      return { response: null, passToApis: true };
    }
    if (key === API_VERSIONS)
      throw new SaslFailure(
        `Unexpected ApiVersions request received during SASL authentication state ${this.#state}`,
      );
    if (key !== SASL_HANDSHAKE)
      throw new SaslFailure(`Unexpected Kafka request of type ${key} during SASL handshake.`);
    if (!versionIn(h.requestApiVersion, SASL_HANDSHAKE_MAX))
      throw new SaslFailure(`SaslHandshake version ${h.requestApiVersion} is not supported`);
    let mechanism: string;
    try {
      mechanism = decodeSaslHandshakeRequest(r, h.requestApiVersion).mechanism;
    } catch (err) {
      if (err instanceof DecodeError) throw new SaslFailure(`malformed SaslHandshake: ${err.message}`);
      throw err;
    }
    this.#kafkaHeaders = h.requestApiVersion >= 1;
    const enabled = this.#settings.mechanisms;
    if (!(enabled as string[]).includes(mechanism)) {
      this.#fail(`Unsupported SASL mechanism ${mechanism.slice(0, 64)}`);
      throw new AuthFailed(
        this.#handshakeResponse(h, { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled }),
      );
    }
    const m = mechanism as SaslMechanismName;
    const response = this.#handshakeResponse(h, { errorCode: ErrorCode.NONE, mechanisms: enabled });
    if (this.#previous && this.#previous.mechanism !== m) {
      this.#badMechanismMessage = `SASL mechanism '${m}' requested by client is not supported for re-authentication of mechanism '${this.#previous.mechanism}'`;
      this.#state = 'REAUTH_BAD_MECHANISM';
      return { response };
    }
    this.#mechanism = m;
    this.#server = this.#settings.newServer(m);
    this.#state = 'AUTHENTICATE';
    return { response };
  }

  async #token(frame: Buffer): Promise<AuthOutcome> {
    const server = this.#server!;
    if (!this.#kafkaHeaders) {
      // SaslHandshake v0: the frame is the raw token, and so is the answer.
      const out = await server.evaluate(frame);
      if (server.complete) this.#completed();
      return { response: out };
    }
    const { header: h, r } = this.#header(frame);
    if (h.requestApiKey !== SASL_AUTHENTICATE) {
      const reason = `Unexpected Kafka request of type ${h.requestApiKey} during SASL authentication.`;
      this.#fail(reason);
      if (h.requestApiKey === SASL_HANDSHAKE && versionIn(h.requestApiVersion, SASL_HANDSHAKE_MAX))
        throw new AuthFailed(
          this.#handshakeResponse(h, {
            errorCode: ErrorCode.ILLEGAL_SASL_STATE,
            mechanisms: this.#settings.mechanisms,
          }),
        );
      throw new AuthFailed(null);
    }
    if (!versionIn(h.requestApiVersion, SASL_AUTHENTICATE_MAX))
      throw new SaslFailure(`Version ${h.requestApiVersion} is not supported for apiKey SASL_AUTHENTICATE`);
    let authBytes: Buffer;
    try {
      authBytes = decodeSaslAuthenticateRequest(r, h.requestApiVersion).authBytes;
    } catch (err) {
      if (err instanceof DecodeError) throw new SaslFailure(`malformed SaslAuthenticate: ${err.message}`);
      throw err;
    }
    if (h.requestApiVersion > 0) this.#clientSupportsReauth = true;
    let out: Buffer;
    try {
      out = await server.evaluate(authBytes);
      if (server.complete && this.#previous && !samePrincipal(this.#previous.principal, server.principal())) {
        const p = this.#previous.principal;
        const q = server.principal();
        const text = `Cannot change principals during re-authentication from ${p.principalType}.${p.name}: ${q.principalType}.${q.name}`;
        throw new SaslFailure(text, text);
      }
    } catch (err) {
      if (!(err instanceof SaslFailure)) throw err;
      this.#fail(err.reason);
      throw new AuthFailed(
        this.#authenticateResponse(h, {
          errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
          errorMessage: err.clientMessage ?? GENERIC(this.#phase(), this.#mechanism!),
          authBytes: Buffer.alloc(0),
          sessionLifetimeMs: 0n,
        }),
      );
    }
    const lifetime = server.complete ? this.#completed() : 0;
    return {
      response: this.#authenticateResponse(h, {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        authBytes: out,
        sessionLifetimeMs: BigInt(lifetime),
      }),
    };
  }

  /** Authentication (or re-authentication) done: principal, session lifetime (returned, ms), counters. */
  #completed(): number {
    const server = this.#server!;
    const now = this.#now();
    const credentialExpiry = server.credentialExpiresAtMs();
    const maxReauth = this.#settings.reauthMs(this.#mechanism!);
    let lifetime = 0;
    this.#sessionExpiresAt = null;
    if (credentialExpiry !== undefined || maxReauth > 0) {
      if (credentialExpiry === undefined) lifetime = maxReauth;
      else if (maxReauth <= 0) lifetime = Math.max(0, credentialExpiry - now);
      else lifetime = Math.max(0, Math.min(credentialExpiry - now, maxReauth));
      this.#sessionExpiresAt = now + lifetime;
    }
    const labels = { listener: this.#ctx.listenerName, mechanism: this.#mechanism! };
    const principal = server.principal();
    if (this.#previous) {
      this.#ctx.metrics?.successfulReauthentication.inc(labels);
      this.#ctx.log.debug(
        { mechanism: labels.mechanism, principal: principalToString(principal), sessionLifetimeMs: lifetime },
        'SASL re-authentication succeeded',
      );
    } else {
      this.#principal = principal;
      this.#ctx.metrics?.successfulAuthentication.inc(labels);
      this.#ctx.log.debug(
        {
          mechanism: labels.mechanism,
          principal: principalToString(principal),
          sessionLifetimeMs: lifetime,
          reauthCapable: this.#clientSupportsReauth,
        },
        'SASL authentication succeeded',
      );
    }
    this.#previous = null;
    this.#server = null;
    this.#state = 'COMPLETE';
    return lifetime;
  }
}

/** A failure already counted and logged, with the answer Kafka sends for it (null: none). */
class AuthFailed extends Error {
  constructor(readonly response: Buffer | null) {
    super('authentication failed');
  }
}
