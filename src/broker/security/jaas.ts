/**
 * The `sasl.jaas.config` value, as Kafka's JaasConfig reads it: one login module entry,
 *
 *   org.apache.kafka.common.security.plain.PlainLoginModule required
 *       username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
 *
 * a class name, a control flag (required | requisite | sufficient | optional), then key=value
 * options, the value quoted ("…", with backslash escapes) or a bare word, ending with ';'. Comments
 * (`//…`, `/* … *\/`) are skipped. Kafka refuses a value with more or fewer than one module.
 * Pure.
 */

export interface JaasEntry {
  loginModule: string;
  controlFlag: 'required' | 'requisite' | 'sufficient' | 'optional';
  options: Record<string, string>;
}

export class JaasConfigError extends Error {
  override readonly name = 'JaasConfigError';
}

const FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: 'punct'; text: '=' | ';' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new JaasConfigError('unterminated comment in JAAS config');
      i = end + 2;
    } else if (c === '=' || c === ';') {
      out.push({ kind: 'punct', text: c });
      i++;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new JaasConfigError('unterminated quoted value in JAAS config');
        const d = src[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          text += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
          i += 2;
        } else {
          text += d;
          i++;
        }
      }
      out.push({ kind: 'quoted', text });
    } else {
      let j = i;
      while (j < src.length && !/[\s=;"']/.test(src[j]!)) j++;
      out.push({ kind: 'word', text: src.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** Parse every entry of a JAAS config value. */
export function parseJaasEntries(value: string): JaasEntry[] {
  const toks = tokenize(value);
  const entries: JaasEntry[] = [];
  let i = 0;
  const word = (what: string): string => {
    const t = toks[i++];
    if (!t || t.kind === 'punct') throw new JaasConfigError(`JAAS config: expected ${what}`);
    return t.text;
  };
  while (i < toks.length) {
    const loginModule = word('a login module class name');
    const flag = word('a control flag').toLowerCase();
    if (!FLAGS.has(flag))
      throw new JaasConfigError(
        `JAAS config: invalid control flag "${flag}" (expected required, requisite, sufficient or optional)`,
      );
    const options: Record<string, string> = {};
    for (;;) {
      const t = toks[i];
      if (!t) throw new JaasConfigError('JAAS config entry must end with ";"');
      if (t.kind === 'punct' && t.text === ';') {
        i++;
        break;
      }
      const key = word('an option name');
      const eq = toks[i++];
      if (!eq || eq.kind !== 'punct' || eq.text !== '=')
        throw new JaasConfigError(`JAAS config: expected "=" after option ${key}`);
      options[key] = word(`a value for option ${key}`);
    }
    entries.push({ loginModule, controlFlag: flag as JaasEntry['controlFlag'], options });
  }
  return entries;
}

/** The one entry `sasl.jaas.config` must hold (Kafka's JaasContext rule). */
export function parseJaasConfig(value: string): JaasEntry {
  const entries = parseJaasEntries(value);
  if (entries.length !== 1)
    throw new JaasConfigError(
      `JAAS config property contains ${entries.length} login modules, should be 1 module`,
    );
  return entries[0]!;
}
