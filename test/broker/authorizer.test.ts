/**
 * The authorizer's pure logic (src/broker/security/acl.ts, acl-cache.ts, authorizer.ts) against
 * Kafka's StandardAuthorizer rules, with an in-memory ACL source: DENY beats ALLOW, implied
 * operations only for ALLOW, LITERAL / PREFIXED / wildcard patterns, User:* and host matching,
 * super users, the no-ACL default, authorizeByResourceType, and filter matching (ANY / MATCH) and
 * validation as Kafka's AclControlManager. No broker: the end-to-end checks are in
 * test/security/acls.test.ts.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  AclOperation as OP,
  AclPermissionType as PERM,
  PatternType as PT,
  ResourceType as RT,
  type AclBinding,
  filterMatches,
  validateFilter,
  validateNewAcl,
  javaHostAddress,
} from '../../src/broker/security/acl.js';
import {
  StandardAuthorizer,
  type AclSource,
  type AuthorizableRequestContext,
} from '../../src/broker/security/authorizer.js';
import type { CheckedOperation, ConcreteResourceType } from '../../src/broker/security/acl.js';
import { userPrincipal } from '../../src/broker/security/principal.js';

class MemorySource extends EventEmitter implements AclSource {
  readonly acls = new Map<string, AclBinding>();
  #n = 0;
  entries(): Iterable<[string, AclBinding]> {
    return this.acls.entries();
  }
  add(b: Partial<AclBinding> & Pick<AclBinding, 'resourceName' | 'principal' | 'operation'>): string {
    const id = String(++this.#n);
    const binding: AclBinding = {
      resourceType: RT.TOPIC,
      patternType: PT.LITERAL,
      host: '*',
      permissionType: PERM.ALLOW,
      ...b,
    };
    this.acls.set(id, binding);
    this.emit('acl', id, binding);
    return id;
  }
  remove(id: string): void {
    this.acls.delete(id);
    this.emit('acl', id, null);
  }
}

const log = pino({ level: 'silent' });

function setup(o: { superUsers?: string[]; allowEveryone?: boolean } = {}) {
  const src = new MemorySource();
  const auth = new StandardAuthorizer({
    config: { superUsers: new Set(o.superUsers ?? []), allowEveryoneIfNoAclFound: o.allowEveryone ?? false },
    acls: src,
    log,
    registry: null,
  });
  const ctx = (user: string, host = '10.0.0.1'): AuthorizableRequestContext => ({
    principal: userPrincipal(user),
    host,
    requestName: 'TEST',
  });
  const can = (
    user: string,
    operation: CheckedOperation,
    name: string,
    resourceType: ConcreteResourceType = 'TOPIC',
    host?: string,
  ) =>
    auth.authorize(ctx(user, host), [
      { operation, resourceType, resourceName: name, refCount: 1, logIfAllowed: true, logIfDenied: true },
    ])[0];
  return { src, auth, ctx, can };
}

describe('StandardAuthorizer', () => {
  it('denies what no ACL grants, unless allow.everyone.if.no.acl.found; super users pass', () => {
    const { can } = setup({ superUsers: ['User:admin'] });
    expect(can('alice', 'READ', 'orders')).toBe(false);
    expect(can('admin', 'READ', 'orders')).toBe(true);
    const open = setup({ allowEveryone: true });
    expect(open.can('alice', 'READ', 'orders')).toBe(true);
    // An ACL for someone else on the resource: no longer "no ACL found".
    open.src.add({ resourceName: 'orders', principal: 'User:bob', operation: OP.READ });
    expect(open.can('alice', 'READ', 'orders')).toBe(false);
    expect(open.can('alice', 'READ', 'other')).toBe(true);
  });

  it('DENY beats ALLOW, across LITERAL, PREFIXED and wildcard patterns', () => {
    const { src, can } = setup();
    src.add({ resourceName: '*', principal: 'User:*', operation: OP.ALL });
    expect(can('alice', 'WRITE', 'orders')).toBe(true);
    const deny = src.add({
      resourceName: 'ord',
      patternType: PT.PREFIXED,
      principal: 'User:alice',
      operation: OP.WRITE,
      permissionType: PERM.DENY,
    });
    expect(can('alice', 'WRITE', 'orders')).toBe(false);
    expect(can('alice', 'WRITE', 'ord')).toBe(false);
    expect(can('alice', 'WRITE', 'or')).toBe(true);
    expect(can('alice', 'READ', 'orders')).toBe(true);
    expect(can('bob', 'WRITE', 'orders')).toBe(true);
    src.remove(deny);
    expect(can('alice', 'WRITE', 'orders')).toBe(true);
  });

  it('implies DESCRIBE from READ/WRITE/DELETE/ALTER and DESCRIBE_CONFIGS from ALTER_CONFIGS, for ALLOW only', () => {
    const { src, can } = setup();
    for (const [op, name] of [
      [OP.READ, 'r'],
      [OP.WRITE, 'w'],
      [OP.DELETE, 'd'],
      [OP.ALTER, 'a'],
      [OP.CREATE, 'c'],
    ] as const)
      src.add({ resourceName: name, principal: 'User:alice', operation: op });
    expect(['r', 'w', 'd', 'a', 'c'].map((n) => can('alice', 'DESCRIBE', n))).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    src.add({ resourceName: 'cfg', principal: 'User:alice', operation: OP.ALTER_CONFIGS });
    expect(can('alice', 'DESCRIBE_CONFIGS', 'cfg')).toBe(true);
    expect(can('alice', 'DESCRIBE', 'cfg')).toBe(false);
    // A DENY of READ does not deny DESCRIBE.
    src.add({ resourceName: 'x', principal: 'User:*', operation: OP.ALL });
    src.add({ resourceName: 'x', principal: 'User:alice', operation: OP.READ, permissionType: PERM.DENY });
    expect(can('alice', 'READ', 'x')).toBe(false);
    expect(can('alice', 'DESCRIBE', 'x')).toBe(true);
  });

  it('matches hosts exactly, by `*`, or by CIDR block; principals exactly or by User:*', () => {
    const { src, can } = setup();
    src.add({ resourceName: 't', principal: 'User:alice', operation: OP.READ, host: '10.0.0.1' });
    src.add({ resourceName: 'n', principal: 'User:alice', operation: OP.READ, host: '192.168.0.0/16' });
    expect(can('alice', 'READ', 't', 'TOPIC', '10.0.0.1')).toBe(true);
    expect(can('alice', 'READ', 't', 'TOPIC', '10.0.0.2')).toBe(false);
    expect(can('alice', 'READ', 'n', 'TOPIC', '192.168.7.9')).toBe(true);
    expect(can('alice', 'READ', 'n', 'TOPIC', '10.0.0.1')).toBe(false);
    expect(can('Alice', 'READ', 't', 'TOPIC', '10.0.0.1')).toBe(false);
    expect(javaHostAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(javaHostAddress('::1')).toBe('0:0:0:0:0:0:0:1');
  });

  it('keeps resource types apart (a TOPIC ACL says nothing of a GROUP of the same name)', () => {
    const { src, can } = setup();
    src.add({ resourceName: 'same', principal: 'User:alice', operation: OP.READ });
    expect(can('alice', 'READ', 'same', 'TOPIC')).toBe(true);
    expect(can('alice', 'READ', 'same', 'GROUP')).toBe(false);
  });

  it('authorizeByResourceType: an ALLOW not dominated by a DENY', () => {
    const { src, auth, ctx } = setup();
    const byType = (user: string) => auth.authorizeByResourceType(ctx(user), 'WRITE', 'TOPIC');
    expect(byType('alice')).toBe(false);
    src.add({ resourceName: 'foo', principal: 'User:alice', operation: OP.WRITE });
    expect(byType('alice')).toBe(true);
    src.add({
      resourceName: 'fo',
      patternType: PT.PREFIXED,
      principal: 'User:alice',
      operation: OP.WRITE,
      permissionType: PERM.DENY,
    });
    expect(byType('alice')).toBe(false);
    src.add({ resourceName: 'bar', patternType: PT.PREFIXED, principal: 'User:*', operation: OP.ALL });
    expect(byType('alice')).toBe(true);
    src.add({
      resourceName: '*',
      principal: 'User:alice',
      operation: OP.WRITE,
      permissionType: PERM.DENY,
    });
    expect(byType('alice')).toBe(false);
  });
});

describe('ACL filters and validation (Kafka AclControlManager)', () => {
  const b: AclBinding = {
    resourceType: RT.TOPIC,
    resourceName: 'pay-',
    patternType: PT.PREFIXED,
    principal: 'User:alice',
    host: '*',
    operation: OP.WRITE,
    permissionType: PERM.ALLOW,
  };
  const any = {
    resourceType: RT.ANY,
    resourceName: null,
    patternType: PT.ANY,
    principal: null,
    host: null,
    operation: OP.ANY,
    permissionType: PERM.ANY,
  };

  it('MATCH finds the patterns that apply to a name; ANY and exact patterns compare names exactly', () => {
    expect(filterMatches(any, b)).toBe(true);
    expect(filterMatches({ ...any, resourceName: 'pay-in', patternType: PT.MATCH }, b)).toBe(true);
    expect(filterMatches({ ...any, resourceName: 'pay-in', patternType: PT.ANY }, b)).toBe(false);
    expect(filterMatches({ ...any, resourceName: 'pay-', patternType: PT.PREFIXED }, b)).toBe(true);
    expect(filterMatches({ ...any, resourceName: 'pay-', patternType: PT.LITERAL }, b)).toBe(false);
    const wildcard = { ...b, resourceName: '*', patternType: PT.LITERAL };
    expect(filterMatches({ ...any, resourceName: 'anything', patternType: PT.MATCH }, wildcard)).toBe(true);
    expect(filterMatches({ ...any, principal: 'User:bob' }, b)).toBe(false);
    expect(filterMatches({ ...any, operation: OP.READ }, b)).toBe(false);
  });

  it("refuses new ACLs and filters as Kafka does, with Kafka's messages", () => {
    expect(validateNewAcl(b, true)).toBeNull();
    expect(validateNewAcl({ ...b, patternType: PT.MATCH }, true)).toEqual({
      error: 'INVALID_REQUEST',
      message: 'Invalid patternType MATCH',
    });
    expect(validateNewAcl({ ...b, operation: OP.ANY }, true)?.message).toBe('Invalid operation ANY');
    expect(validateNewAcl({ ...b, principal: 'alice' }, true)?.error).toBe('INVALID_REQUEST');
    expect(validateNewAcl({ ...b, resourceType: RT.CLUSTER, resourceName: 'x' }, true)?.message).toBe(
      'The only valid name for the CLUSTER resource is kafka-cluster',
    );
    expect(validateNewAcl({ ...b, resourceName: '' }, true)?.message).toBe('Invalid empty resource name');
    expect(validateNewAcl({ ...b, host: '10.0.0.0/33' }, true)?.error).toBe('INVALID_REQUEST');
    expect(validateNewAcl({ ...b, host: '10.0.0.0/8' }, false)?.error).toBe('UNSUPPORTED_VERSION');
    expect(validateFilter({ ...any, patternType: PT.UNKNOWN })?.message).toBe('Unknown patternFilter.');
    expect(validateFilter({ ...any, operation: OP.UNKNOWN })?.message).toBe('Unknown entryFilter.');
    expect(validateFilter(any)).toBeNull();
  });
});
