/**
 * What every API handler declares: its key, the version range it serves (min 0 always advertised,
 * see kafka-protocol/CLIENTS.md trap 1), its generated codecs, and the function that answers.
 * Returning null sends no response (Produce with acks=0).
 */
import type { ByteReader, ByteWriter } from '../../protocol/primitives.js';
import type { RequestHeader } from '../../protocol/messages/headers.js';
import type { ConnectionContext } from '../network/connection.js';
import type { RequestThrottle } from '../quota/client-quotas.js';

export interface RequestContext {
  readonly header: RequestHeader;
  readonly apiVersion: number;
  readonly connection: ConnectionContext;
  readonly clientId: string | null;
  /** Client quota bookkeeping of this request (absent when the broker runs without quotas). */
  readonly quota?: RequestThrottle;
}

export interface ApiHandler<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(r: ByteReader, version: number): Req;
  encode(w: ByteWriter, response: Res, version: number): void;
  handle(request: Req, ctx: RequestContext): Promise<Res | null> | Res | null;
  /**
   * Roughly how many bytes the encoded response takes, for responses that carry large payloads
   * (Fetch): the writer is allocated once at that size instead of doubling its way up, copying at
   * every step, which showed as garbage-collector time in the consume profile.
   */
  sizeHint?(response: Res): number;
}

/** Helper so each handler file reads as one declaration with its types inferred. */
export function defineHandler<Req, Res>(h: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  return h;
}
