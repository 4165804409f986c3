/**
 * The pure parts of authentication, against fixed vectors and Kafka's own cases: SCRAM (RFC 7677's
 * exchange byte for byte, Kafka's error sentences), PLAIN, OAUTHBEARER (unsecured JWS as Kafka's
 * default validator; signed JWTs against a JWKS with RS256/ES256), the JAAS config parser,
 * ssl.principal.mapping.rules (Kafka's SslPrincipalMapperTest cases) and certificate subjects printed
 * exactly as Java's X500Principal.getName() (checked against Java itself).
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, createSign, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/broker-process.js';
import {
  credentialFromSaltedPassword,
  makeCredential,
  SCRAM_MECHANISMS,
  saltedPassword,
  ScramSaslClient,
  ScramSaslServer,
  fromSaslName,
  toSaslName,
  type ScramCredential,
} from '../../src/broker/security/scram.js';
import { PlainSaslServer } from '../../src/broker/security/plain.js';
import {
  clientInitialResponse,
  JwtValidator,
  OAuthBearerSaslServer,
  UnsecuredJwsValidator,
  unsecuredToken,
} from '../../src/broker/security/oauthbearer.js';
import { parseJaasConfig, JaasConfigError } from '../../src/broker/security/jaas.js';
import {
  SslPrincipalMapper,
  InvalidRuleError,
  NoMatchingRuleError,
} from '../../src/broker/security/ssl-principal-mapper.js';
import { subjectDn } from '../../src/broker/security/x500-name.js';
import { SaslFailure } from '../../src/broker/security/sasl-mechanism.js';
import { TestCerts } from './certs.js';

describe('SCRAM', () => {
  it("RFC 7677's SCRAM-SHA-256 exchange, byte for byte", async () => {
    const m = SCRAM_MECHANISMS['SCRAM-SHA-256'];
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const cred = credentialFromSaltedPassword(m, salt, await saltedPassword(m, 'pencil', salt, 4096), 4096);
    const server = new ScramSaslServer(
      'SCRAM-SHA-256',
      (u) => (u === 'user' ? cred : undefined),
      () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    );
    const first = server.evaluate(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first.toString()).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const final = server.evaluate(
      Buffer.from(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    expect(final.toString()).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(server.complete).toBe(true);
    expect(server.principal()).toEqual({ principalType: 'User', name: 'user' });
  });

  const users = new Map<string, ScramCredential>();
  const lookup = (u: string) => users.get(u);

  it('our client and server agree, for both mechanisms; a wrong password fails at the proof', async () => {
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      users.set('alice,=x', await makeCredential(SCRAM_MECHANISMS[mech], 'alice-secret', 8192));
      const s = new ScramSaslServer(mech, lookup);
      const c = new ScramSaslClient(mech, 'alice,=x', 'alice-secret');
      const first = c.first();
      expect(first.toString()).toMatch(/^n,,n=alice=2C=3Dx,r=/);
      c.verify(s.evaluate(await c.final(s.evaluate(first))));
      expect(s.principal().name).toBe('alice,=x');

      const bad = new ScramSaslServer(mech, lookup);
      const bc = new ScramSaslClient(mech, 'alice,=x', 'wrong');
      const sf = bad.evaluate(bc.first());
      let err: unknown;
      try {
        bad.evaluate(await bc.final(sf));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SaslFailure);
      // A SaslException in Kafka: the client only gets the generic sentence.
      expect((err as SaslFailure).clientMessage).toBeNull();
      expect((err as SaslFailure).reason).not.toContain('wrong');
    }
  });

  it("refuses as Kafka does: unknown user (generic), authzid ≠ user (Kafka's sentence), garbage, replays", async () => {
    users.set('bob', await makeCredential(SCRAM_MECHANISMS['SCRAM-SHA-512'], 'pw', 4096));
    const fail = (msgs: string[]): SaslFailure => {
      const s = new ScramSaslServer('SCRAM-SHA-512', lookup);
      try {
        for (const m of msgs) s.evaluate(Buffer.from(m, 'latin1'));
      } catch (e) {
        return e as SaslFailure;
      }
      throw new Error('no failure');
    };
    expect(fail(['n,,n=nobody,r=abc']).clientMessage).toBeNull();
    expect(fail(['n,a=other,n=bob,r=abc']).clientMessage).toBe(
      'Authentication failed: Client requested an authorization id that is different from username',
    );
    expect(fail(['garbage']).reason).toMatch(/Invalid SCRAM client first message format/);
    expect(fail(['p=tls-unique,,n=bob,r=abc']).reason).toMatch(/Invalid SCRAM client first message format/);
    expect(fail(['n,,n=b=ob,r=abc']).reason).toMatch(/Invalid SCRAM client first message format|Credentials/);
    expect(fail(['n,,n=bob,r=abc,tokenauth=true']).reason).toMatch(/Token Authentication failed/);
    expect(fail(['n,,n=bob,r=abc', 'c=biws,r=abcWRONG,p=AAAA']).reason).toMatch(
      /Invalid client nonce|format/,
    );
    expect(fail(['n,,n=bob,r=abc', 'not a final message']).reason).toMatch(
      /Invalid SCRAM client final message/,
    );
    expect(toSaslName('a,b=c')).toBe('a=2Cb=3Dc');
    expect(fromSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(() => fromSaslName('a=b')).toThrow();
  });
});

describe('PLAIN', () => {
  const server = () => new PlainSaslServer(() => new Map([['alice', 'alice-secret']]));
  it('accepts a listed user, refuses with Kafka sentences', () => {
    const s = server();
    expect(s.evaluate(Buffer.from('\0alice\0alice-secret')).length).toBe(0);
    expect(s.principal().name).toBe('alice');
    const msg = (t: string) => {
      try {
        server().evaluate(Buffer.from(t));
      } catch (e) {
        return (e as SaslFailure).clientMessage;
      }
      return 'ok';
    };
    expect(msg('\0alice\0wrong')).toBe('Authentication failed: Invalid username or password');
    expect(msg('\0mallory\0x')).toBe('Authentication failed: Invalid username or password');
    expect(msg('\0\0x')).toBe('Authentication failed: username not specified');
    expect(msg('\0alice\0')).toBe('Authentication failed: password not specified');
    expect(msg('nope')).toBe('Invalid SASL/PLAIN response: expected 3 tokens, got 1');
    expect(msg('bob\0alice\0alice-secret')).toBe(
      'Authentication failed: Client requested an authorization id that is different from username',
    );
  });
});

describe('OAUTHBEARER', () => {
  const now = Date.now();
  const s = Math.floor(now / 1000);

  it("unsecured JWS: valid token authenticates with its sub and lifetime; Kafka's error flow for a bad one", () => {
    const server = new OAuthBearerSaslServer(new UnsecuredJwsValidator());
    const out = server.evaluate(clientInitialResponse(unsecuredToken({ sub: 'alice', exp: s + 60, iat: s })));
    expect(out.length).toBe(0);
    expect(server.principal().name).toBe('alice');
    expect(server.credentialExpiresAtMs()).toBe((s + 60) * 1000);

    const reasons: string[] = [];
    const bad = new OAuthBearerSaslServer(new UnsecuredJwsValidator(), (r) => reasons.push(r));
    const err = bad.evaluate(clientInitialResponse(unsecuredToken({ sub: 'alice', exp: s - 60 })));
    expect(err.toString()).toBe('{"status":"invalid_token"}');
    expect(reasons[0]).toMatch(/on or after the Expiration Time/);
    expect(() => bad.evaluate(Buffer.from([1]))).toThrow(SaslFailure);
    try {
      bad.evaluate(Buffer.from([1]));
    } catch (e) {
      expect((e as SaslFailure).clientMessage).toBe('{"status":"invalid_token"}');
    }
  });

  it('unsecured JWS: what Kafka refuses', () => {
    const v = new UnsecuredJwsValidator({ requiredScope: ['kafka'] });
    const reason = (t: string) => {
      const r = v.validate(t, now);
      return r.ok ? 'ok' : `${r.status}: ${r.reason}`;
    };
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(reason(unsecuredToken({ sub: 'a', exp: s + 60, scope: 'kafka x' }))).toBe('ok');
    expect(reason(unsecuredToken({ sub: 'a', exp: s + 60 }))).toMatch(/^insufficient_scope/);
    expect(reason(unsecuredToken({ sub: 'a', scope: 'kafka' }))).toMatch(/No expiration time in JWT/);
    expect(reason(unsecuredToken({ exp: s + 60, scope: 'kafka' }))).toMatch(/Required claim missing: sub/);
    expect(reason(`${enc({ alg: 'HS256' })}.${enc({ sub: 'a', exp: s + 60 })}.`)).toMatch(/must have 'none'/);
    expect(reason(`${enc({ alg: 'none' })}.${enc({ sub: 'a', exp: s + 60 })}.sig`)).toMatch(
      /must not contain a digital signature/,
    );
    expect(reason('a..b')).toMatch(/contains '\.\.'/);
    expect(reason('x.y')).toMatch(/3 dot-separated/);
    expect(reason(`${enc({ alg: 'none' })}.!!!.`)).toMatch(/malformed/);
  });

  it('signed JWTs against a JWKS: RS256 and ES256 pass; wrong key, expired, audience, issuer, alg none refused', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = [
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'r1', alg: 'RS256', use: 'sig' },
      { ...ec.publicKey.export({ format: 'jwk' }), kid: 'e1' },
    ];
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = (header: object, claims: object, key: typeof rsa.privateKey, ecdsa = false) => {
      const data = `${b64(header)}.${b64(claims)}`;
      const sig = ecdsa
        ? cryptoSign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' })
        : createSign('RSA-SHA256').update(data).sign(key);
      return `${data}.${sig.toString('base64url')}`;
    };
    const v = new JwtValidator({
      keys: () => jwks as never,
      expectedAudience: ['kafka'],
      expectedIssuer: 'https://issuer',
    });
    const good = { sub: 'svc', aud: 'kafka', iss: 'https://issuer', iat: s, exp: s + 600 };
    const check = (t: string) => {
      const r = v.validate(t, now);
      return r.ok ? `ok:${r.token.principalName}` : r.reason;
    };
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, good, rsa.privateKey))).toBe('ok:svc');
    expect(check(jwt({ alg: 'ES256', kid: 'e1' }, good, ec.privateKey, true))).toBe('ok:svc');
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, good, other.privateKey))).toMatch(/signature is invalid/);
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, { ...good, exp: s - 120 }, rsa.privateKey))).toMatch(
      /no longer valid/,
    );
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, { ...good, aud: 'other' }, rsa.privateKey))).toMatch(
      /Audience/,
    );
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, { ...good, iss: 'x' }, rsa.privateKey))).toMatch(/Issuer/);
    expect(check(jwt({ alg: 'RS256', kid: 'r1' }, { ...good, iat: undefined }, rsa.privateKey))).toMatch(
      /Issued At/,
    );
    expect(check(jwt({ alg: 'RS256', kid: 'nope' }, good, rsa.privateKey))).toMatch(/verification key/);
    expect(check(unsecuredToken(good))).toMatch(/not a permitted algorithm/);
  });
});

describe('JAAS config', () => {
  it("parses Kafka's login module entries", () => {
    const e = parseJaasConfig(
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a\\"b" user_admin="admin-secret" user_alice=alice-secret;',
    );
    expect(e.loginModule).toBe('org.apache.kafka.common.security.plain.PlainLoginModule');
    expect(e.controlFlag).toBe('required');
    expect(e.options).toEqual({
      username: 'admin',
      password: 'a"b',
      user_admin: 'admin-secret',
      user_alice: 'alice-secret',
    });
    expect(
      parseJaasConfig('org.apache.kafka.common.security.scram.ScramLoginModule required;').options,
    ).toEqual({});
    expect(() => parseJaasConfig('A required; B required;')).toThrow(/contains 2 login modules, should be 1/);
    expect(() => parseJaasConfig('A mandatory;')).toThrow(JaasConfigError);
    expect(() => parseJaasConfig('A required x="1"')).toThrow(/must end with/);
  });
});

describe('ssl.principal.mapping.rules', () => {
  it("maps as Kafka's SslPrincipalMapperTest", () => {
    const m = new SslPrincipalMapper(
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,DEFAULT',
    );
    expect(m.getName('CN=Duke,OU=ServiceUsers,O=Org,C=US')).toBe('Duke');
    expect(m.getName('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US')).toBe('duke@sme');
    expect(m.getName('cn=duke,ou=JavaSoft,o=Sun Microsystems')).toBe('DUKE');
    expect(m.getName('OU=JavaSoft,O=Sun Microsystems,C=US')).toBe('OU=JavaSoft,O=Sun Microsystems,C=US');
    expect(new SslPrincipalMapper(null).getName('CN=x')).toBe('CN=x');
    expect(new SslPrincipalMapper('RULE:^CN=([^,]*),.*$/$1-$2/').getName('CN=a,O=b')).toBe('a-$2');
    expect(() => new SslPrincipalMapper('RULE:^CN=(.*),.*$/$1/').getName('OU=x')).toThrow(
      NoMatchingRuleError,
    );
    for (const bad of [
      'DEFAULT, DEFAULTX',
      'RULE:/',
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/LU',
      'RULE:^CN=(.*?)/$1/U/',
      'blah',
    ])
      expect(() => new SslPrincipalMapper(bad), bad).toThrow(InvalidRuleError);
  });
});

describe("certificate subjects as Java's X500Principal.getName()", () => {
  const certs = new TestCerts();
  afterAll(() => certs.cleanup());
  it('matches Java for plain, multi-valued, escaped and e-mail subjects', () => {
    const subjects = [
      '/C=US/ST=CA/L=San Jose/O=Sluice Test/OU=Brokers/CN=localhost',
      '/O=Example, Inc./OU=a+b/CN=Alice "The Admin" <x>',
      '/DC=com/DC=example/UID=alice/CN= leading space',
      '/O=Org/CN=alice/emailAddress=alice@example.com',
      '/O=Org/OU=Team+CN=multi',
      '/CN=Ünïcödé',
    ];
    const files = subjects.map((subj, i) => certs.issue(`dn${i}`, subj).cert);
    const java = execFileSync('java', [join(REPO_ROOT, 'test/security/java/PrincipalName.java'), ...files], {
      encoding: 'utf8',
    })
      .trimEnd()
      .split('\n');
    const ours = files.map((f) => subjectDn(new X509Certificate(readFileSync(f)).raw));
    expect(ours).toEqual(java);
    expect(ours[0]).toBe('CN=localhost,OU=Brokers,O=Sluice Test,L=San Jose,ST=CA,C=US');
  });
});
