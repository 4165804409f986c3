/**
 * Test certificates made with the `openssl` command into a temp dir (removed by cleanup()):
 *
 *   ca.crt / ca.key            the trusted CA
 *   broker.pem                 Kafka's PEM keystore: the broker's private key and certificate
 *                              (CN=localhost, SAN IP:127.0.0.1, DNS:localhost), signed by the CA
 *   broker.crt, broker.key     the same, apart
 *   broker-enc.pem             the same key encrypted with BROKER_KEY_PASSWORD (ssl.key.password)
 *   <name>.crt / <name>.key    client certificates signed by the CA (subject given per client)
 *   other-ca.crt               a second, untrusted CA, and `mallory`, a client certificate from it
 *
 * `issue()` makes more (a renewed broker certificate for reload tests).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BROKER_KEY_PASSWORD = 'broker-key-secret';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface CertPaths {
  dir: string;
  caCert: string;
  otherCaCert: string;
  brokerPem: string;
  brokerEncryptedPem: string;
  brokerCert: string;
  brokerKey: string;
  client(name: string): { cert: string; key: string; pem: string };
}

export class TestCerts implements CertPaths {
  readonly dir: string;
  #serial = 1;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'sluice-certs-'));
    const d = this.dir;
    for (const ca of ['ca', 'other-ca']) {
      openssl(
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-sha256',
          '-days',
          '3',
          '-keyout',
          `${ca}.key`,
          '-out',
          `${ca}.crt`,
          '-subj',
          `/O=Sluice Test/CN=${ca === 'ca' ? 'Sluice Test CA' : 'Other CA'}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        d,
      );
    }
    this.issue('broker', '/C=US/O=Sluice Test/OU=Brokers/CN=localhost', { server: true });
    writeFileSync(
      join(d, 'broker.pem'),
      readFileSync(join(d, 'broker.key'), 'utf8') + readFileSync(join(d, 'broker.crt'), 'utf8'),
    );
    openssl(
      [
        'pkcs8',
        '-topk8',
        '-in',
        'broker.key',
        '-out',
        'broker-enc.key',
        '-v2',
        'aes-256-cbc',
        '-passout',
        `pass:${BROKER_KEY_PASSWORD}`,
      ],
      d,
    );
    writeFileSync(
      join(d, 'broker-enc.pem'),
      readFileSync(join(d, 'broker-enc.key'), 'utf8') + readFileSync(join(d, 'broker.crt'), 'utf8'),
    );
    this.issue('mallory', '/O=Evil/CN=mallory', { ca: 'other-ca' });
  }

  get caCert(): string {
    return join(this.dir, 'ca.crt');
  }
  get otherCaCert(): string {
    return join(this.dir, 'other-ca.crt');
  }
  get brokerPem(): string {
    return join(this.dir, 'broker.pem');
  }
  get brokerEncryptedPem(): string {
    return join(this.dir, 'broker-enc.pem');
  }
  get brokerCert(): string {
    return join(this.dir, 'broker.crt');
  }
  get brokerKey(): string {
    return join(this.dir, 'broker.key');
  }

  /**
   * Issue `<name>.key`, `<name>.crt` and `<name>.pem` (key + cert) with `subject` (openssl's
   * /K=V/… form, most significant first), signed by `ca`. `server` adds the loopback SANs.
   */
  issue(
    name: string,
    subject: string,
    opts: { ca?: string; server?: boolean; days?: number } = {},
  ): {
    cert: string;
    key: string;
    pem: string;
  } {
    const d = this.dir;
    const ca = opts.ca ?? 'ca';
    const ext = join(d, `${name}.ext`);
    writeFileSync(
      ext,
      opts.server
        ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subject,
      ],
      d,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        String(Date.now() * 100 + this.#serial++),
        '-out',
        `${name}.crt`,
        '-days',
        String(opts.days ?? 2),
        '-sha256',
        '-extfile',
        ext,
      ],
      d,
    );
    writeFileSync(
      join(d, `${name}.pem`),
      readFileSync(join(d, `${name}.key`), 'utf8') + readFileSync(join(d, `${name}.crt`), 'utf8'),
    );
    return this.client(name);
  }

  client(name: string): { cert: string; key: string; pem: string } {
    return {
      cert: join(this.dir, `${name}.crt`),
      key: join(this.dir, `${name}.key`),
      pem: join(this.dir, `${name}.pem`),
    };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
