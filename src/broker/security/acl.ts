/**
 * Kafka's ACL model (org.apache.kafka.common.acl / .resource): resource types, pattern types,
 * operations and permission types with Kafka's wire codes, an ACL binding (resource pattern +
 * access control entry) and a binding filter, and the rules Kafka applies to them:
 *
 *  - a filter matches a binding as ResourcePatternFilter.matches and AccessControlEntryFilter.matches
 *    do (MATCH finds the LITERAL, wildcard and PREFIXED bindings that apply to a name; ANY every
 *    pattern type, but names compare exactly);
 *  - a new binding is checked as Kafka 4.4's AclApis (broker) and AclControlManager.validateNewAcl
 *    (controller) check it, with their error names and sentences;
 *  - host patterns are `*`, an exact address, or (metadata.version 4.4-IV1 and later) a CIDR block.
 *
 * Pure: no I/O. The controller's AclFrontend and the broker's authorizer both use it.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export type ResourceTypeName = keyof typeof ResourceType;
export type PatternTypeName = keyof typeof PatternType;
export type AclOperationName = keyof typeof AclOperation;
export type AclPermissionTypeName = keyof typeof AclPermissionType;

/** A resource an authorization check can name (Kafka's concrete resource types). */
export type ConcreteResourceType = Exclude<ResourceTypeName, 'UNKNOWN' | 'ANY'>;
/** An operation an authorization check can ask for. */
export type CheckedOperation = Exclude<AclOperationName, 'UNKNOWN' | 'ANY' | 'ALL'>;

/** The name of the one CLUSTER resource. */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL resource name, or a host, that matches every name or host. */
export const WILDCARD = '*';
/** The principal that matches every principal. */
export const WILDCARD_PRINCIPAL = 'User:*';

function invert<T extends Record<string, number>>(t: T): Map<number, keyof T & string> {
  return new Map(Object.entries(t).map(([k, v]) => [v, k as keyof T & string]));
}
const RESOURCE_TYPE_NAMES = invert(ResourceType);
const PATTERN_TYPE_NAMES = invert(PatternType);
const OPERATION_NAMES = invert(AclOperation);
const PERMISSION_NAMES = invert(AclPermissionType);

export const resourceTypeName = (code: number): ResourceTypeName =>
  RESOURCE_TYPE_NAMES.get(code) ?? 'UNKNOWN';
export const patternTypeName = (code: number): PatternTypeName => PATTERN_TYPE_NAMES.get(code) ?? 'UNKNOWN';
export const operationName = (code: number): AclOperationName => OPERATION_NAMES.get(code) ?? 'UNKNOWN';
export const permissionTypeName = (code: number): AclPermissionTypeName =>
  PERMISSION_NAMES.get(code) ?? 'UNKNOWN';

/** As Kafka's fromCode: a code Kafka does not know is UNKNOWN (0). */
export const knownResourceType = (code: number): number => ResourceType[resourceTypeName(code)];
export const knownPatternType = (code: number): number => PatternType[patternTypeName(code)];
export const knownOperation = (code: number): number => AclOperation[operationName(code)];
export const knownPermissionType = (code: number): number => AclPermissionType[permissionTypeName(code)];

/** One ACL: a resource pattern and an access control entry, with Kafka's codes. */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** Kafka's AclBindingFilter: null strings match anything, ANY codes match every value. */
export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** The binding with every code a known one (unknown codes read as UNKNOWN, as Kafka's fromCode). */
export function normalizeBinding(b: AclBinding): AclBinding {
  return {
    resourceType: knownResourceType(b.resourceType),
    resourceName: b.resourceName,
    patternType: knownPatternType(b.patternType),
    principal: b.principal,
    host: b.host,
    operation: knownOperation(b.operation),
    permissionType: knownPermissionType(b.permissionType),
  };
}

export function normalizeFilter(f: AclBindingFilter): AclBindingFilter {
  return {
    resourceType: knownResourceType(f.resourceType),
    resourceName: f.resourceName,
    patternType: knownPatternType(f.patternType),
    principal: f.principal,
    host: f.host,
    operation: knownOperation(f.operation),
    permissionType: knownPermissionType(f.permissionType),
  };
}

/** ResourcePatternFilter.matches && AccessControlEntryFilter.matches. */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (
    f.patternType !== PatternType.ANY &&
    f.patternType !== PatternType.MATCH &&
    f.patternType !== b.patternType
  )
    return false;
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
      if (f.resourceName !== b.resourceName) return false;
    } else if (b.patternType === PatternType.LITERAL) {
      // MATCH: the literal binding for the name, or the wildcard one.
      if (f.resourceName !== b.resourceName && b.resourceName !== WILDCARD) return false;
    } else if (b.patternType === PatternType.PREFIXED) {
      if (!f.resourceName.startsWith(b.resourceName)) return false;
    } else {
      return false;
    }
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permissionType !== AclPermissionType.ANY && f.permissionType !== b.permissionType) return false;
  return true;
}

/** A refusal with Kafka's error name and sentence. */
export interface AclProblem {
  error: 'INVALID_REQUEST' | 'UNSUPPORTED_VERSION' | 'UNKNOWN_SERVER_ERROR';
  message: string | null;
}

/**
 * A binding Kafka's request classes cannot even build (CreateAclsRequest.aclBinding: a resource
 * pattern of type ANY or pattern type ANY/MATCH, an entry with operation or permission ANY): the
 * broker's handler throws, and Kafka answers every creation of the request with
 * UNKNOWN_SERVER_ERROR.
 */
export function unbuildableBinding(b: AclBinding): boolean {
  return (
    b.resourceType === ResourceType.ANY ||
    b.patternType === PatternType.ANY ||
    b.patternType === PatternType.MATCH ||
    b.operation === AclOperation.ANY ||
    b.permissionType === AclPermissionType.ANY
  );
}

/**
 * Kafka's checks on a new binding (normalized), in Kafka's order: the broker's (AclApis: the
 * CLUSTER resource's only name, no empty name), then the controller's (validateNewAcl). Null when
 * the binding may be created.
 */
export function validateNewAcl(b: AclBinding, cidrSupported: boolean): AclProblem | null {
  const invalid = (message: string): AclProblem => ({ error: 'INVALID_REQUEST', message });
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME)
    return invalid(`The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`);
  if (b.resourceName === '') return invalid('Invalid empty resource name');
  if (b.resourceType === ResourceType.UNKNOWN || b.resourceType === ResourceType.ANY)
    return invalid(`Invalid resourceType ${resourceTypeName(b.resourceType)}`);
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED)
    return invalid(`Invalid patternType ${patternTypeName(b.patternType)}`);
  if (b.operation === AclOperation.UNKNOWN || b.operation === AclOperation.ANY)
    return invalid(`Invalid operation ${operationName(b.operation)}`);
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY)
    return invalid(`Invalid permissionType ${permissionTypeName(b.permissionType)}`);
  if (!b.principal.includes(':'))
    return invalid(
      `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from the principal name)`,
    );
  if (b.host === '') return invalid('Host pattern cannot be null or empty');
  if (b.host !== WILDCARD && b.host.includes('/')) {
    if (!cidrSupported)
      return {
        error: 'UNSUPPORTED_VERSION',
        message: 'CIDR-based ACL host patterns require metadata version 4.4-IV1 or higher.',
      };
    const problem = cidrProblem(b.host);
    if (problem !== null) return invalid(`Invalid CIDR notation '${b.host}': ${problem}`);
  }
  return null;
}

/** AclControlManager.validateFilter: a filter naming an UNKNOWN code matches nothing and is refused. */
export function validateFilter(f: AclBindingFilter): AclProblem | null {
  if (f.resourceType === ResourceType.UNKNOWN || f.patternType === PatternType.UNKNOWN)
    return { error: 'INVALID_REQUEST', message: 'Unknown patternFilter.' };
  if (f.operation === AclOperation.UNKNOWN || f.permissionType === AclPermissionType.UNKNOWN)
    return { error: 'INVALID_REQUEST', message: 'Unknown entryFilter.' };
  return null;
}

/** "User:alice" → its type and name (split at the first colon), null without a colon. */
export function parsePrincipal(s: string): { principalType: string; name: string } | null {
  const i = s.indexOf(':');
  return i < 0 ? null : { principalType: s.slice(0, i), name: s.slice(i + 1) };
}

/**
 * Why a CIDR block is refused, in the words of the commons-net SubnetUtils Kafka uses, or null.
 * IPv4 `a.b.c.d/n` (n 0-32) or IPv6 `addr/n` (n 0-128).
 */
export function cidrProblem(cidr: string): string | null {
  if (cidr.includes(':')) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
    if (!m || !isIPv6(m[1]!)) return `Could not parse [${cidr}]`;
    const bits = Number(m[2]);
    return bits <= 128 ? null : `Value [${bits}] not in range [0,128]`;
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return `Could not parse [${cidr}]`;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return `Value [${n}] not in range [0,255]`;
  }
  const bits = Number(m[5]);
  return bits <= 32 ? null : `Value [${bits}] not in range [0,32]`;
}

const cidrLists = new Map<string, BlockList | null>();

/** CidrUtils.isInRange: whether `host` (an address as Java prints it) lies in the block `cidr`. */
export function hostInCidr(host: string, cidr: string): boolean {
  if (!cidr.includes('/')) return false;
  let list = cidrLists.get(cidr);
  if (list === undefined) {
    list = null;
    if (cidrProblem(cidr) === null) {
      const [addr, bits] = cidr.split('/') as [string, string];
      list = new BlockList();
      list.addSubnet(addr, Number(bits), isIPv4(addr) ? 'ipv4' : 'ipv6');
    }
    // A handful of distinct blocks in practice; bounded anyway.
    if (cidrLists.size > 10_000) cidrLists.clear();
    cidrLists.set(cidr, list);
  }
  if (list === null) return false;
  const v4 = !cidr.includes(':');
  if (v4 ? !isIPv4(host) : !isIPv6(host)) return false;
  return list.check(host, v4 ? 'ipv4' : 'ipv6');
}

/**
 * A client's address as Java's InetAddress.getHostAddress prints it (what Kafka compares ACL hosts
 * with): IPv4 dotted, IPv4-mapped IPv6 as IPv4 (Java unwraps those), other IPv6 as eight groups of
 * lower-case hex without leading zeros and without `::` compression.
 */
export function javaHostAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address.split('%')[0]!)) return address;
  const [addr, scope] = address.split('%') as [string, string | undefined];
  let head = addr;
  let tail: string[] = [];
  // An embedded IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) is the last two groups.
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const [a, b, c, d] = v4.slice(2).map(Number) as [number, number, number, number];
    tail = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    head = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  let groups: string[];
  if (head.includes('::')) {
    const [l, r] = head.split('::') as [string, string];
    const left = l === '' ? [] : l.split(':');
    const right = r === '' ? [] : r.split(':');
    const zeros = Array<string>(Math.max(0, 8 - tail.length - left.length - right.length)).fill('0');
    groups = [...left, ...zeros, ...right, ...tail];
  } else {
    groups = [...head.split(':'), ...tail];
  }
  groups = groups.map((g) => parseInt(g, 16).toString(16));
  return scope === undefined ? groups.join(':') : `${groups.join(':')}%${scope}`;
}

/** AclEntry.supportedOperations: what KIP-430 reports for a resource type. */
export function supportedOperations(type: ConcreteResourceType): CheckedOperation[] {
  switch (type) {
    case 'TOPIC':
      return ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'];
    case 'GROUP':
      return ['READ', 'DESCRIBE', 'DELETE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'];
    case 'CLUSTER':
      return [
        'CREATE',
        'CLUSTER_ACTION',
        'DESCRIBE_CONFIGS',
        'ALTER_CONFIGS',
        'IDEMPOTENT_WRITE',
        'ALTER',
        'DESCRIBE',
      ];
    case 'TRANSACTIONAL_ID':
      return ['DESCRIBE', 'WRITE', 'TWO_PHASE_COMMIT'];
    case 'DELEGATION_TOKEN':
      return ['DESCRIBE'];
    case 'USER':
      return ['CREATE_TOKENS', 'DESCRIBE_TOKENS'];
  }
}

/** Utils.to32BitField: bit `code` set for each operation. */
export function operationsBitField(ops: readonly CheckedOperation[]): number {
  let bits = 0;
  for (const op of ops) bits |= 1 << AclOperation[op];
  return bits;
}

/** SecurityUtils.resourceTypeName: Topic, Group, Cluster, TransactionalId, DelegationToken, User. */
export function resourceTypeDisplayName(type: number): string {
  return resourceTypeName(type)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __: string, c: string) => c.toUpperCase());
}

/** Kafka's AclBinding.toString, for logs and messages. */
export function describeBinding(b: AclBinding): string {
  return (
    `(pattern=ResourcePattern(resourceType=${resourceTypeName(b.resourceType)}, name=${b.resourceName}, ` +
    `patternType=${patternTypeName(b.patternType)}), entry=(principal=${b.principal}, host=${b.host}, ` +
    `operation=${operationName(b.operation)}, permissionType=${permissionTypeName(b.permissionType)}))`
  );
}

/** Two bindings are the same ACL when every field is equal (Kafka's StandardAcl.equals). */
export function bindingKey(b: AclBinding): string {
  return JSON.stringify([
    b.resourceType,
    b.resourceName,
    b.patternType,
    b.principal,
    b.host,
    b.operation,
    b.permissionType,
  ]);
}

/**
 * The stored form (one metadata key per ACL): Kafka's enum names, readable in etcdctl and in the
 * embedded store's file. Null when a stored document is not a valid binding.
 */
export interface StoredAcl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permissionType: string;
}

export function toStored(b: AclBinding): StoredAcl {
  return {
    resourceType: resourceTypeName(b.resourceType),
    resourceName: b.resourceName,
    patternType: patternTypeName(b.patternType),
    principal: b.principal,
    host: b.host,
    operation: operationName(b.operation),
    permissionType: permissionTypeName(b.permissionType),
  };
}

export function fromStored(doc: unknown): AclBinding | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, unknown>;
  const str = (k: string): string | null => (typeof d[k] === 'string' ? d[k] : null);
  const code = <T extends Record<string, number>>(table: T, k: string): number | null => {
    const v = str(k);
    return v !== null && Object.hasOwn(table, v) ? table[v as keyof T]! : null;
  };
  const b = {
    resourceType: code(ResourceType, 'resourceType'),
    resourceName: str('resourceName'),
    patternType: code(PatternType, 'patternType'),
    principal: str('principal'),
    host: str('host'),
    operation: code(AclOperation, 'operation'),
    permissionType: code(AclPermissionType, 'permissionType'),
  };
  if (Object.values(b).some((v) => v === null)) return null;
  const binding = b as AclBinding;
  return validateNewAcl(binding, true) === null ? binding : null;
}
