/**
 * The authorizer: Kafka's StandardAuthorizer semantics (StandardAuthorizerData), over the ACLs in
 * the metadata store (AclTable → AclCache). On when `authorizer.class.name` names it.
 *
 * A check is an action (operation on a LITERAL resource) for a request's principal and client host:
 *  1. a super user (`super.users`, `User:alice;User:bob`) is allowed everything;
 *  2. the ACLs that apply to the resource are read (LITERAL for its name, PREFIXED for each prefix
 *     of it, then LITERAL `*`); an ACL matches when its principal is the request's or `User:*`, its
 *     host is `*`, the client's address or (4.4) a CIDR block holding it, and its operation is the
 *     action's, or ALL, or — for ALLOW ACLs only — one that implies it (READ, WRITE, DELETE and
 *     ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS);
 *  3. a matching DENY wins; else a matching ALLOW allows; else, when any ACL exists for the resource
 *     at all (whoever it names), the action is denied; else `allow.everyone.if.no.acl.found`
 *     decides (default false: denied).
 *
 * Audit (Kafka's `kafka.authorizer.logger`): a denial of something the request named explicitly is
 * logged at info, an allowed one at debug, checks that only compute KIP-430 operations or filter
 * lists at trace; every decision is counted, explicit denials by API, operation and resource type.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerConfig } from '../../common/broker-config.js';
import { InvalidConfigError } from '../../common/config-def.js';
import type { Logger } from '../../common/logger.js';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  AclPermissionType,
  type CheckedOperation,
  type ConcreteResourceType,
  PatternType,
  ResourceType,
  WILDCARD,
  filterMatches,
  hostInCidr,
  parsePrincipal,
  resourceTypeDisplayName,
} from './acl.js';
import { AclCache, type IndexedAcl } from './acl-cache.js';
import type { KafkaPrincipal } from './principal.js';

/** The `authorizer.class.name` values that turn this authorizer on. */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
  'dev.sluice.security.StandardAuthorizer',
];

export interface AuthorizerConfig {
  /** Principals allowed everything, as written (`User:admin`). */
  readonly superUsers: ReadonlySet<string>;
  /** The answer when no ACL exists for a resource (`allow.everyone.if.no.acl.found`). */
  readonly allowEveryoneIfNoAclFound: boolean;
}

/**
 * The authorizer's settings from the broker config, or null when `authorizer.class.name` is empty
 * (no authorization, as in Kafka). Throws InvalidConfigError (a startup error) for a class Sluice
 * does not provide or a malformed super user.
 */
export function authorizerConfigFrom(config: BrokerConfig): AuthorizerConfig | null {
  const cls = (config.str('authorizer.class.name') ?? '').trim();
  if (cls === '') return null;
  if (!AUTHORIZER_CLASS_NAMES.includes(cls))
    throw new InvalidConfigError(
      'authorizer.class.name',
      `authorizer.class.name ${cls} is not available in Sluice; use one of ${AUTHORIZER_CLASS_NAMES.join(', ')}`,
    );
  const superUsers = new Set<string>();
  for (const raw of (config.str('super.users') ?? '').split(';')) {
    const v = raw.trim();
    if (v === '') continue;
    if (!parsePrincipal(v))
      throw new InvalidConfigError(
        'super.users',
        `Invalid principal in super.users: ${v} (expected Type:name)`,
      );
    superUsers.add(v);
  }
  const allow = (config.str('allow.everyone.if.no.acl.found') ?? 'false').trim().toLowerCase() === 'true';
  return { superUsers, allowEveryoneIfNoAclFound: allow };
}

/** Who asks, from where, in which request: Kafka's AuthorizableRequestContext, reduced. */
export interface AuthorizableRequestContext {
  readonly principal: KafkaPrincipal;
  /** The client's address as Java prints it (see javaHostAddress). */
  readonly host: string;
  /** Kafka's ApiKeys name of the request (PRODUCE, FETCH, …), for the audit log. */
  readonly requestName: string;
}

/** Kafka's Action: an operation on one LITERAL resource. */
export interface Action {
  readonly operation: CheckedOperation;
  readonly resourceType: ConcreteResourceType;
  readonly resourceName: string;
  /** How many times the request names the resource (audit only). */
  readonly refCount: number;
  /** Log an allowed result at debug (the request asked for this resource); else trace. */
  readonly logIfAllowed: boolean;
  /** Log a denial at info (the request asked for this resource); else trace. */
  readonly logIfDenied: boolean;
}

/** Where the ACLs come from: every broker's AclTable. */
export interface AclSource {
  entries(): Iterable<[string, AclBinding]>;
  on(event: 'acl', listener: (id: string, binding: AclBinding | null) => void): unknown;
}

const IMPLIES_DESCRIBE = new Set<number>([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);
const IMPLIES_DESCRIBE_CONFIGS = new Set<number>([AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]);

/** Why a check ended as it did (Kafka's MatchingRule), for the audit log. */
type Rule =
  | { kind: 'SuperUser' }
  | { kind: 'DefaultAllow' }
  | { kind: 'DefaultDeny' }
  | { kind: 'MatchingAcl'; acl: IndexedAcl; allowed: boolean };

const ALLOWED = (r: Rule): boolean =>
  r.kind === 'SuperUser' || r.kind === 'DefaultAllow' || (r.kind === 'MatchingAcl' && r.allowed);

function ruleText(r: Rule): string {
  if (r.kind !== 'MatchingAcl') return r.kind;
  const b = r.acl.binding;
  return (
    `MatchingAcl(acl=StandardAcl(resourceType=${ResourceTypeNames[b.resourceType]}, resourceName=${b.resourceName}, ` +
    `patternType=${b.patternType === PatternType.PREFIXED ? 'PREFIXED' : 'LITERAL'}, principal=${b.principal}, host=${b.host}, ` +
    `operation=${OperationNames[b.operation]}, permissionType=${b.permissionType === AclPermissionType.ALLOW ? 'ALLOW' : 'DENY'}))`
  );
}

const ResourceTypeNames = Object.fromEntries(Object.entries(ResourceType).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;
const OperationNames = Object.fromEntries(Object.entries(AclOperation).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

/** Kafka's authorizer metrics (authorization-request/allowed/denied rates, acls-total-count) and audit counts. */
export class AuthorizerMetrics {
  readonly decisions: Counter<'result'>;
  readonly denials: Counter<'api' | 'operation' | 'resource_type'>;

  constructor(registry: Registry, aclCount: () => number) {
    const registers = [registry];
    this.decisions = new Counter({
      name: 'sluice_authorizer_requests_total',
      help: 'Authorization checks by result (allowed, denied); Kafka: authorization-request-rate, -allowed-rate, -denied-rate',
      labelNames: ['result'],
      registers,
    });
    this.denials = new Counter({
      name: 'sluice_authorization_denials_total',
      help: 'Denied access to resources a request named (each is logged by the authorizer logger), by API, operation and resource type',
      labelNames: ['api', 'operation', 'resource_type'],
      registers,
    });
    new Gauge({
      name: 'sluice_acls',
      help: 'ACLs in force on this broker (Kafka: acls-total-count)',
      registers,
      collect() {
        this.set(aclCount());
      },
    });
  }
}

export class StandardAuthorizer {
  readonly config: AuthorizerConfig;
  readonly #cache = new AclCache();
  readonly #audit: Logger;
  readonly #metrics: AuthorizerMetrics | null;

  constructor(o: { config: AuthorizerConfig; acls: AclSource; log: Logger; registry: Registry | null }) {
    this.config = o.config;
    // Kafka's audit logger is `kafka.authorizer.logger`: its name stays in each line.
    this.#audit = o.log.child({ component: 'authorizer', logger: 'kafka.authorizer.logger' });
    for (const [id, b] of o.acls.entries()) this.#cache.add(id, b);
    o.acls.on('acl', (id, b) => (b ? this.#cache.add(id, b) : this.#cache.remove(id)));
    this.#metrics = o.registry ? new AuthorizerMetrics(o.registry, () => this.#cache.size) : null;
  }

  get aclCount(): number {
    return this.#cache.size;
  }

  /** The ACLs a filter matches (DescribeAcls). */
  acls(filter: AclBindingFilter): AclBinding[] {
    const out: AclBinding[] = [];
    for (const b of this.#cache.bindings()) if (filterMatches(filter, b)) out.push(b);
    return out;
  }

  /** One result per action, in order (Kafka's Authorizer.authorize). */
  authorize(ctx: AuthorizableRequestContext, actions: readonly Action[]): boolean[] {
    return actions.map((a) => this.#authorizeOne(ctx, a));
  }

  #authorizeOne(ctx: AuthorizableRequestContext, action: Action): boolean {
    const principal = `${ctx.principal.principalType}:${ctx.principal.name}`;
    const rule: Rule = this.config.superUsers.has(principal)
      ? { kind: 'SuperUser' }
      : this.#findAclRule(ctx, action);
    const allowed = ALLOWED(rule);
    this.#metrics?.decisions.inc({ result: allowed ? 'allowed' : 'denied' });
    if (!allowed && action.logIfDenied)
      this.#metrics?.denials.inc({
        api: ctx.requestName,
        operation: action.operation,
        resource_type: action.resourceType,
      });
    this.#logAudit(principal, ctx, action, rule, allowed);
    return allowed;
  }

  #findAclRule(ctx: AuthorizableRequestContext, action: Action): Rule {
    const op = AclOperation[action.operation];
    // Filled by the visitor (an object: TypeScript does not see a closure assign plain variables).
    const found: { any: boolean; allow: IndexedAcl | null; deny: IndexedAcl | null } = {
      any: false,
      allow: null,
      deny: null,
    };
    this.#cache.forEachApplying(ResourceType[action.resourceType], action.resourceName, (acl) => {
      found.any = true;
      const r = matchResult(op, ctx, acl);
      if (r === 'ALLOW') found.allow = acl;
      else if (r === 'DENY') {
        found.deny = acl;
        return true;
      }
      return false;
    });
    if (found.deny) return { kind: 'MatchingAcl', acl: found.deny, allowed: false };
    if (found.allow) return { kind: 'MatchingAcl', acl: found.allow, allowed: true };
    if (found.any) return { kind: 'DefaultDeny' };
    return { kind: this.config.allowEveryoneIfNoAclFound ? 'DefaultAllow' : 'DefaultDeny' };
  }

  #logAudit(
    principal: string,
    ctx: AuthorizableRequestContext,
    action: Action,
    rule: Rule,
    allowed: boolean,
  ): void {
    const level = allowed ? (action.logIfAllowed ? 'debug' : 'trace') : action.logIfDenied ? 'info' : 'trace';
    if (!this.#audit.isLevelEnabled(level)) return;
    const resource = `${resourceTypeDisplayName(ResourceType[action.resourceType])}:LITERAL:${action.resourceName}`;
    this.#audit[level](
      {
        principal,
        allowed,
        operation: action.operation,
        host: ctx.host,
        resource,
        request: ctx.requestName,
        resourceRefCount: action.refCount,
        rule: rule.kind,
      },
      `Principal = ${principal} is ${allowed ? 'Allowed' : 'Denied'} operation = ${action.operation} from host = ${ctx.host} ` +
        `on resource = ${resource} for request = ${ctx.requestName} with resourceRefCount = ${action.refCount} ` +
        `based on rule ${ruleText(rule)}`,
    );
  }

  /**
   * Kafka's Authorizer.authorizeByResourceType: may the principal `op` some resource of this type?
   * (InitProducerId: an idempotent producer with WRITE on any topic needs no IDEMPOTENT_WRITE.)
   * Allowed when a check on a resource named "hardcode" is (super users, the no-ACL default),
   * else when a matching ALLOW (LITERAL or PREFIXED) is not dominated by a matching DENY: a literal
   * DENY of the same name or a PREFIXED DENY of a prefix of it; a wildcard ALLOW allows, a wildcard
   * DENY denies.
   */
  authorizeByResourceType(
    ctx: AuthorizableRequestContext,
    operation: CheckedOperation,
    resourceType: ConcreteResourceType,
  ): boolean {
    if (
      this.#authorizeOne(ctx, {
        operation,
        resourceType,
        resourceName: 'hardcode',
        refCount: 0,
        logIfAllowed: true,
        logIfDenied: false,
      })
    )
      return true;
    const op = AclOperation[operation];
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral = new Set<string>();
    const allowPrefixed = new Set<string>();
    let wildcardAllow = false;
    for (const acl of this.#cache.ofResourceType(ResourceType[resourceType])) {
      const b = acl.binding;
      if (b.host !== ctx.host && b.host !== WILDCARD && !hostInCidr(ctx.host, b.host)) continue;
      const samePrincipal =
        acl.principalType === ctx.principal.principalType && acl.principalName === ctx.principal.name;
      if (!samePrincipal && b.principal !== 'User:*') continue;
      if (b.operation !== op && b.operation !== AclOperation.ALL) continue;
      const prefixed = b.patternType === PatternType.PREFIXED;
      if (b.permissionType === AclPermissionType.DENY) {
        if (!prefixed && b.resourceName === WILDCARD) return false;
        (prefixed ? denyPrefixed : denyLiteral).add(b.resourceName);
      } else if (b.permissionType === AclPermissionType.ALLOW) {
        if (!prefixed && b.resourceName === WILDCARD) wildcardAllow = true;
        else (prefixed ? allowPrefixed : allowLiteral).add(b.resourceName);
      }
    }
    if (wildcardAllow) return true;
    const dominated = (name: string): boolean => {
      for (let i = 1; i <= name.length; i++) if (denyPrefixed.has(name.slice(0, i))) return true;
      return false;
    };
    for (const name of allowLiteral) if (!denyLiteral.has(name) && !dominated(name)) return true;
    for (const name of allowPrefixed) if (!dominated(name)) return true;
    return false;
  }
}

/**
 * StandardAuthorizerData.findResult: null when the ACL does not match the request (principal, host,
 * operation); else its permission. Implications hold for ALLOW ACLs only: a DENY of READ does not
 * deny DESCRIBE.
 */
function matchResult(op: number, ctx: AuthorizableRequestContext, acl: IndexedAcl): 'ALLOW' | 'DENY' | null {
  const b = acl.binding;
  const principalMatches =
    (acl.principalType === ctx.principal.principalType && acl.principalName === ctx.principal.name) ||
    (acl.principalType === 'User' && acl.principalName === '*');
  if (!principalMatches) return null;
  if (b.host !== WILDCARD && b.host !== ctx.host && !hostInCidr(ctx.host, b.host)) return null;
  if (b.operation !== AclOperation.ALL) {
    if (b.permissionType === AclPermissionType.ALLOW) {
      if (op === AclOperation.DESCRIBE) {
        if (!IMPLIES_DESCRIBE.has(b.operation)) return null;
      } else if (op === AclOperation.DESCRIBE_CONFIGS) {
        if (!IMPLIES_DESCRIBE_CONFIGS.has(b.operation)) return null;
      } else if (op !== b.operation) return null;
    } else if (op !== b.operation) return null;
  }
  return b.permissionType === AclPermissionType.ALLOW ? 'ALLOW' : 'DENY';
}
