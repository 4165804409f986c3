/**
 * The ACLs in force, indexed so that one authorization check reads only the ACLs that can apply to
 * its resource (Kafka's AclCache, which keeps them in a tree sorted by reverse resource name for
 * the same purpose). Per resource type:
 *
 *  - LITERAL ACLs by exact name (the wildcard `*` is one such name);
 *  - PREFIXED ACLs by prefix, with the distinct prefix lengths in use, so the prefixes of a name
 *    are found with one map lookup per length (a handful in practice) rather than a scan.
 *
 * Filled and changed by the AclTable's events (every broker's view of the stored ACLs); the
 * authorizer reads it synchronously on the request path.
 */
import { type AclBinding, PatternType, WILDCARD, parsePrincipal } from './acl.js';

export interface IndexedAcl {
  readonly id: string;
  readonly binding: AclBinding;
  readonly principalType: string;
  readonly principalName: string;
}

interface TypeIndex {
  readonly literal: Map<string, IndexedAcl[]>;
  readonly prefixed: Map<string, IndexedAcl[]>;
  /** Distinct lengths of the PREFIXED names, ascending. */
  prefixLengths: number[];
}

function pushTo(m: Map<string, IndexedAcl[]>, key: string, acl: IndexedAcl): void {
  const list = m.get(key);
  if (list) list.push(acl);
  else m.set(key, [acl]);
}

function removeFrom(m: Map<string, IndexedAcl[]>, key: string, id: string): void {
  const list = m.get(key);
  if (!list) return;
  const i = list.findIndex((a) => a.id === id);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) m.delete(key);
}

export class AclCache {
  readonly #byId = new Map<string, IndexedAcl>();
  readonly #types = new Map<number, TypeIndex>();

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Add (or replace) one ACL. Bindings whose principal has no colon are not indexed (never valid). */
  add(id: string, binding: AclBinding): void {
    this.remove(id);
    const p = parsePrincipal(binding.principal);
    if (!p) return;
    const acl: IndexedAcl = { id, binding, principalType: p.principalType, principalName: p.name };
    this.#byId.set(id, acl);
    let t = this.#types.get(binding.resourceType);
    if (!t)
      this.#types.set(
        binding.resourceType,
        (t = { literal: new Map(), prefixed: new Map(), prefixLengths: [] }),
      );
    if (binding.patternType === PatternType.PREFIXED) {
      pushTo(t.prefixed, binding.resourceName, acl);
      this.#reindexLengths(t);
    } else {
      pushTo(t.literal, binding.resourceName, acl);
    }
  }

  remove(id: string): void {
    const acl = this.#byId.get(id);
    if (!acl) return;
    this.#byId.delete(id);
    const t = this.#types.get(acl.binding.resourceType)!;
    if (acl.binding.patternType === PatternType.PREFIXED) {
      removeFrom(t.prefixed, acl.binding.resourceName, id);
      this.#reindexLengths(t);
    } else {
      removeFrom(t.literal, acl.binding.resourceName, id);
    }
  }

  clear(): void {
    this.#byId.clear();
    this.#types.clear();
  }

  #reindexLengths(t: TypeIndex): void {
    t.prefixLengths = [...new Set([...t.prefixed.keys()].map((k) => k.length))].sort((a, b) => a - b);
  }

  /** Every ACL, in no particular order. */
  *bindings(): IterableIterator<AclBinding> {
    for (const a of this.#byId.values()) yield a.binding;
  }

  /** Every ACL on a resource type (any pattern, any name). */
  *ofResourceType(resourceType: number): IterableIterator<IndexedAcl> {
    const t = this.#types.get(resourceType);
    if (!t) return;
    for (const list of t.literal.values()) yield* list;
    for (const list of t.prefixed.values()) yield* list;
  }

  /**
   * Visit every ACL whose pattern applies to the literal resource (type, name): LITERAL ACLs for the
   * name, PREFIXED ACLs for each prefix of it, then the LITERAL wildcard ACLs (Kafka's two sections,
   * in its order). `visit` returns true to stop.
   */
  forEachApplying(resourceType: number, name: string, visit: (acl: IndexedAcl) => boolean): void {
    const t = this.#types.get(resourceType);
    if (!t) return;
    const lists: (IndexedAcl[] | undefined)[] = [t.literal.get(name)];
    for (const len of t.prefixLengths) {
      if (len > name.length) break;
      lists.push(t.prefixed.get(len === name.length ? name : name.slice(0, len)));
    }
    if (name !== WILDCARD) lists.push(t.literal.get(WILDCARD));
    for (const list of lists) {
      if (!list) continue;
      for (const acl of list) if (visit(acl)) return;
    }
  }
}
