/**
 * `ssl.principal.mapping.rules`, as Kafka's SslPrincipalMapper: a comma-separated list of rules tried
 * in order on the client certificate's subject DN (RFC 2253, see x500-name.ts), the first that
 * matches giving the principal name:
 *
 *   DEFAULT                             the DN itself
 *   RULE:<pattern>/<replacement>/[L|U]  when <pattern> matches the whole DN, the DN with every match
 *                                       replaced ($1… back references), lower- or upper-cased on L/U
 *
 * e.g. `RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT`. No rule matching is an error (the connection
 * is closed). Patterns are Java regular expressions; the common subset is the same in JavaScript
 * (a leading `(?i)` is understood as the case-insensitive flag). Pure.
 */

export class InvalidRuleError extends Error {
  override readonly name = 'InvalidRuleError';
}

export class NoMatchingRuleError extends Error {
  override readonly name = 'NoMatchingRuleError';
}

const RULE_PATTERN = '(DEFAULT)|RULE:((\\\\.|[^\\\\/])*)/((\\\\.|[^\\\\/])*)/([LU]?).*?|(.*?)';

type ReplacementPart = string | number;

interface Rule {
  isDefault: boolean;
  pattern?: RegExp;
  whole?: RegExp;
  replacement?: ReplacementPart[];
  toLowerCase?: boolean;
  toUpperCase?: boolean;
  text: string;
}

function splitRules(rules: string): string[] {
  const splitter = new RegExp(`\\s*(${RULE_PATTERN})\\s*(,\\s*|$)`, 'g');
  const s = rules.trim();
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = splitter.exec(s)) !== null) {
    out.push(m[1]!);
    if (m[0].length === 0) {
      splitter.lastIndex++;
      if (splitter.lastIndex > s.length) break;
    }
  }
  return out;
}

function groupCount(re: RegExp): number {
  // A pattern that matches the empty string has exactly groupCount + 1 entries.
  return (new RegExp(`${re.source}|`).exec('')?.length ?? 1) - 1;
}

/**
 * A Java replacement string as parts: literal text and group numbers. Back references to groups that
 * do not exist are literal text (Kafka's escapeLiteralBackReferences), `\x` is a literal x.
 */
function parseReplacement(rep: string, groups: number): ReplacementPart[] {
  const parts: ReplacementPart[] = [];
  let lit = '';
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i]!;
    if (c === '\\' && i + 1 < rep.length) {
      lit += rep[++i];
    } else if (c === '$' && /[0-9]/.test(rep[i + 1] ?? '')) {
      let j = i + 1;
      let n = Number(rep[j]);
      j++;
      while (j < rep.length && /[0-9]/.test(rep[j]!) && n * 10 + Number(rep[j]) <= groups) {
        n = n * 10 + Number(rep[j]);
        j++;
      }
      if (groups > 0 && n > groups && !rep.slice(i + 1).startsWith('0')) {
        lit += rep.slice(i, j);
      } else if (n > groups) {
        throw new InvalidRuleError(`No group ${n} in replacement ${rep}`);
      } else {
        if (lit) parts.push(lit);
        lit = '';
        parts.push(n);
      }
      i = j - 1;
    } else if (c === '$') {
      throw new InvalidRuleError(`Illegal group reference in replacement ${rep}`);
    } else {
      lit += c;
    }
  }
  if (lit) parts.push(lit);
  return parts;
}

function compile(pattern: string, flags: string): RegExp {
  let p = pattern;
  let f = flags;
  if (p.startsWith('(?i)')) {
    p = p.slice(4);
    f += 'i';
  }
  try {
    return new RegExp(p, f);
  } catch (err) {
    throw new InvalidRuleError(`Invalid rule pattern ${pattern}: ${(err as Error).message}`);
  }
}

function parseRule(rule: string): Rule | null {
  const parser = new RegExp(`^(?:${RULE_PATTERN})`);
  const m = parser.exec(rule);
  if (!m) throw new InvalidRuleError(`Invalid rule: ${rule}`);
  if (m[0].length !== rule.length)
    throw new InvalidRuleError(
      `Invalid rule: \`${rule}\`, unmatched substring: \`${rule.slice(m[0].length)}\``,
    );
  if (m[1] !== undefined) return { isDefault: true, text: 'DEFAULT' };
  if (m[2] === undefined) return null; // empty rules are ignored
  const pattern = compile(m[2], 'g');
  return {
    isDefault: false,
    pattern,
    whole: compile(
      `^(?:${m[2].startsWith('(?i)') ? m[2].slice(4) : m[2]})$`,
      m[2].startsWith('(?i)') ? 'i' : '',
    ),
    replacement: parseReplacement(m[4]!, groupCount(pattern)),
    toLowerCase: m[6] === 'L',
    toUpperCase: m[6] === 'U',
    text: rule,
  };
}

export class SslPrincipalMapper {
  readonly #rules: Rule[];

  /** Throws InvalidRuleError on a rule Kafka would refuse (a startup error). */
  constructor(rules: string | null = 'DEFAULT') {
    this.#rules = splitRules(rules ?? 'DEFAULT')
      .map(parseRule)
      .filter((r): r is Rule => r !== null);
  }

  /** The principal name for a DN; throws NoMatchingRuleError. */
  getName(dn: string): string {
    for (const r of this.#rules) {
      if (r.isDefault) return dn;
      if (!r.whole!.test(dn)) continue;
      const rep = r.replacement!;
      r.pattern!.lastIndex = 0;
      const n = groupCount(r.pattern!);
      let out = dn.replace(r.pattern!, (...args: unknown[]) => {
        const groups = args.slice(0, n + 1) as (string | undefined)[];
        return rep.map((p) => (typeof p === 'number' ? (groups[p] ?? '') : p)).join('');
      });
      if (r.toLowerCase) out = out.toLowerCase();
      else if (r.toUpperCase) out = out.toUpperCase();
      return out;
    }
    throw new NoMatchingRuleError(
      `No rules apply to ${dn}, rules [${this.#rules.map((r) => r.text).join(', ')}]`,
    );
  }
}
