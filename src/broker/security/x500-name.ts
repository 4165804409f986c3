/**
 * A certificate's subject as Java's X500Principal.getName() prints it (RFC 2253), which is the name
 * Kafka's mTLS principals start from: RDNs from the last to the first ("CN=alice,OU=eng,O=Example,C=US"),
 * several attributes in one RDN joined with '+', the RFC 2253 keywords (CN, C, L, ST, O, OU, STREET,
 * DC, UID) by name and every other attribute as its dotted OID with the value's DER in hex
 * ("1.2.840.113549.1.9.1=#1611616c696365406578616d706c652e636f6d" for an e-mail address, as Kafka
 * users see it). String values escape `,=+<>#;"\` with a backslash, and a leading or trailing space.
 *
 * Reads the DER of the certificate itself (node's X509Certificate.subject loses the order and the
 * encoding), with a small bounds-checked TLV reader. Pure.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

interface Tlv {
  tag: number;
  /** Start of the whole TLV (tag byte). */
  start: number;
  /** Start and end of the value. */
  valueStart: number;
  end: number;
}

function readTlv(buf: Buffer, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new DerError('truncated DER');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not used in names');
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new DerError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError('DER value runs past its container');
  return { tag, start: pos, valueStart: p, end: p + len };
}

function children(buf: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = t.valueStart;
  while (p < t.end) {
    const c = readTlv(buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oidString(bytes: Buffer): string {
  if (bytes.length === 0) throw new DerError('empty OID');
  const first = bytes[0]!;
  const parts = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** RFC 2253's keywords (Java prints exactly these by name in RFC 2253 form). */
const KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const UTF8 = 0x0c;
const PRINTABLE = 0x13;
const T61 = 0x14;
const IA5 = 0x16;
const UNIVERSAL = 0x1c;
const BMP = 0x1e;

function decodeString(tag: number, bytes: Buffer): string | null {
  switch (tag) {
    case UTF8:
      return bytes.toString('utf8');
    case PRINTABLE:
    case IA5:
    case T61:
      return bytes.toString('latin1');
    case BMP: {
      let s = '';
      for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes.readUInt16BE(i));
      return s;
    }
    case UNIVERSAL: {
      let s = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
      return s;
    }
    default:
      return null;
  }
}

function escapeValue(v: string): string {
  let out = '';
  for (const ch of v) out += ',=+<>#;"\\'.includes(ch) ? `\\${ch}` : ch;
  // Leading and trailing spaces are escaped too.
  out = out.replace(/^ /, '\\ ');
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** One Name (SEQUENCE OF RDN) at `t`, printed as RFC 2253. */
function nameToRfc2253(buf: Buffer, t: Tlv): string {
  if (t.tag !== 0x30) throw new DerError('a Name must be a SEQUENCE');
  const rdns = children(buf, t).map((rdn) => {
    if (rdn.tag !== 0x31) throw new DerError('an RDN must be a SET');
    return children(buf, rdn)
      .map((ava) => {
        const [type, value] = children(buf, ava);
        if (!type || !value || type.tag !== 0x06) throw new DerError('bad AttributeTypeAndValue');
        const oid = oidString(buf.subarray(type.valueStart, type.end));
        const keyword = KEYWORDS[oid];
        const str = keyword ? decodeString(value.tag, buf.subarray(value.valueStart, value.end)) : null;
        if (keyword && str !== null) return `${keyword}=${escapeValue(str)}`;
        return `${keyword ?? oid}=#${buf.subarray(value.start, value.end).toString('hex')}`;
      })
      .join('+');
  });
  return rdns.reverse().join(',');
}

/** The subject DN of a DER certificate, as Java's X500Principal.getName(). */
export function subjectDn(certDer: Buffer): string {
  const cert = readTlv(certDer, 0, certDer.length);
  const [tbs] = children(certDer, cert);
  if (!tbs || tbs.tag !== 0x30) throw new DerError('not a certificate');
  const f = children(certDer, tbs);
  // [0] EXPLICIT version is optional; then serial, signature algorithm, issuer, validity, subject.
  const i = f[0]?.tag === 0xa0 ? 1 : 0;
  const subject = f[i + 4];
  if (!subject) throw new DerError('certificate has no subject');
  return nameToRfc2253(certDer, subject);
}
