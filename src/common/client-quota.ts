/**
 * Client quota entities and keys, as Kafka's ClientQuotaEntity and QuotaConfig define them (KIP-55,
 * KIP-124, KIP-599, KIP-612). An entity maps entity types (`user`, `client-id`, `ip`) to a name, or to
 * null for the default of that type. Shared by the controller (validation, storage) and the broker
 * (precedence, enforcement), so both use one definition.
 */

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';

export type QuotaKey =
  | 'producer_byte_rate'
  | 'consumer_byte_rate'
  | 'request_percentage'
  | 'controller_mutation_rate'
  | 'connection_creation_rate';

/** The keys a user / client-id entity takes, with Kafka's value types (QuotaConfig). */
export const USER_CLIENT_QUOTA_KEYS: Readonly<Record<string, 'LONG' | 'DOUBLE'>> = {
  producer_byte_rate: 'LONG',
  consumer_byte_rate: 'LONG',
  request_percentage: 'DOUBLE',
  controller_mutation_rate: 'DOUBLE',
};
/** The key an ip entity takes (enforced by the connection quotas). */
export const IP_QUOTA_KEYS: Readonly<Record<string, 'INT'>> = { connection_creation_rate: 'INT' };

/** entity type → name (null: the default entity of that type). */
export type ClientQuotaEntity = Readonly<Record<string, string | null>>;

/** A stable text form of an entity, with its types sorted (a map key, and Kafka's toString shape). */
export function entityKey(e: ClientQuotaEntity): string {
  return Object.keys(e)
    .sort()
    .map((t) => `${t}=${e[t] === null ? '<default>' : encodeURIComponent(e[t]!)}`)
    .join('/');
}

/** Kafka's ClientQuotaEntity.toString, for messages ("ClientQuotaEntity(entries={client-id=x})"). */
export function entityToString(e: ClientQuotaEntity): string {
  const parts = Object.keys(e).map((t) => `${t}=${e[t]}`);
  return `ClientQuotaEntity(entries={${parts.join(', ')}})`;
}

export interface ApiError {
  code: 'INVALID_REQUEST' | 'UNKNOWN_SERVER_ERROR';
  message: string;
}

/**
 * Kafka's ClientQuotaControlManager.validateEntity and configKeysForEntityType: the entity's types
 * and names, then which keys its combination takes. Returns those keys, or the error.
 */
export function validateEntity(
  entries: readonly { entityType: string; entityName: string | null }[],
): { entity: ClientQuotaEntity; keys: Readonly<Record<string, string>> } | ApiError {
  if (entries.length === 0) return { code: 'INVALID_REQUEST', message: 'Invalid empty client quota entity' };
  const entity: Record<string, string | null> = {};
  for (const { entityType, entityName } of entries) {
    if (entityType in entity)
      return {
        code: 'INVALID_REQUEST',
        message: `Invalid client quota entity, duplicate entity entry ${entityType}`,
      };
    if (entityType !== USER && entityType !== CLIENT_ID && entityType !== IP)
      return { code: 'INVALID_REQUEST', message: `Unhandled client quota entity type: ${entityType}` };
    entity[entityType] = entityName;
    if (entityName !== null && entityName === '')
      return { code: 'INVALID_REQUEST', message: `Empty ${entityType} not supported` };
  }
  if (IP in entity) {
    if (USER in entity || CLIENT_ID in entity)
      return {
        code: 'INVALID_REQUEST',
        // Kafka's sentence, missing space included.
        message: 'Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId',
      };
    const ip = entity[IP];
    if (ip !== null && !isIpAddress(ip))
      return { code: 'INVALID_REQUEST', message: `${ip} is not a valid IP or resolvable host.` };
    return { entity, keys: IP_QUOTA_KEYS };
  }
  return { entity, keys: USER_CLIENT_QUOTA_KEYS };
}

function isIpAddress(s: string): boolean {
  // Kafka resolves the name (InetAddress.getByName); Sluice takes literal addresses only, so a
  // quota never depends on DNS at write time.
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}

/** Kafka's validateQuotaKeyValue. */
export function validateQuotaValue(
  keys: Readonly<Record<string, string>>,
  key: string,
  value: number,
): ApiError | null {
  const type = keys[key];
  if (type === undefined) return { code: 'INVALID_REQUEST', message: `Invalid configuration key ${key}` };
  if (!(value > 0)) return { code: 'INVALID_REQUEST', message: `Quota ${key} must be greater than 0` };
  if (type === 'DOUBLE') return null;
  if (type === 'INT' && value > 2147483647)
    return { code: 'INVALID_REQUEST', message: `Proposed value for ${key} is too large for an INT.` };
  if (type === 'LONG' && value > 2 ** 63 - 1)
    return { code: 'INVALID_REQUEST', message: `Proposed value for ${key} is too large for a LONG.` };
  if (Math.abs(value % 1) > 1e-6)
    return { code: 'INVALID_REQUEST', message: `${key} cannot be a fractional value.` };
  return null;
}

/** The quotas a set of entities holds: entityKey → entity and its key → value. */
export type ClientQuotaMap = ReadonlyMap<
  string,
  { entity: ClientQuotaEntity; quotas: Readonly<Record<string, number>> }
>;

/**
 * The quota that applies to a request from `user` with `clientId` for `key`, and the (user,
 * client-id) pair its sensor is keyed by, with KIP-55's precedence (Kafka's DefaultQuotaCallback):
 *   1 user+client-id, 2 user+default client-id, 3 user, 4 default user+client-id,
 *   5 default user+default client-id, 6 default user, 7 client-id, 8 default client-id.
 * Clients that share the entity share its sensor (a user quota is for all the user's clients).
 * null: no quota of that key applies.
 */
export function resolveQuota(
  quotas: ClientQuotaMap,
  key: string,
  user: string,
  clientId: string,
): { limit: number; user: string; clientId: string } | null {
  const get = (e: ClientQuotaEntity): number | undefined => quotas.get(entityKey(e))?.quotas[key];
  const steps: [ClientQuotaEntity, string, string][] = [
    [{ [USER]: user, [CLIENT_ID]: clientId }, user, clientId],
    [{ [USER]: user, [CLIENT_ID]: null }, user, clientId],
    [{ [USER]: user }, user, ''],
    [{ [USER]: null, [CLIENT_ID]: clientId }, user, clientId],
    [{ [USER]: null, [CLIENT_ID]: null }, user, clientId],
    [{ [USER]: null }, user, ''],
    [{ [CLIENT_ID]: clientId }, '', clientId],
    [{ [CLIENT_ID]: null }, '', clientId],
  ];
  for (const [e, u, c] of steps) {
    const limit = get(e);
    if (limit !== undefined) return { limit, user: u, clientId: c };
  }
  return null;
}

/** DescribeClientQuotas filter matching (Kafka's ClientQuotasImage.matches). */
export function entityMatches(
  entity: ClientQuotaEntity,
  exact: ReadonlyMap<string, string | null>,
  specified: ReadonlySet<string>,
  strict: boolean,
): boolean {
  const types = Object.keys(entity);
  if (strict && types.length !== exact.size + specified.size) return false;
  for (const [t, name] of exact) if (!(t in entity) || entity[t] !== name) return false;
  for (const t of specified) if (!(t in entity)) return false;
  return true;
}
