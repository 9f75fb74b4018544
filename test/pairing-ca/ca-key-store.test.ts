import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isImprintError } from '../../src/common/errors.ts';
import { CA_CERT_FILE, CA_KEY_FILE } from '../../src/pairing/ca/ca-key-store.ts';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { makeCsr, openssl, tempDir, writeFiles } from '../helpers/ca-csr.ts';

describe('CertificateAuthority.loadOrCreate', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('creates a P-256 CA with private files and a CA profile openssl accepts', () => {
    const dir = join(tmp.dir, 'new', 'nested');
    const ca = CertificateAuthority.loadOrCreate(dir, { commonName: 'Plant 7 Pairing CA', validityDays: 365 });
    assert.equal(ca.created, true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, CA_KEY_FILE)).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, CA_KEY_FILE), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(readFileSync(join(dir, CA_CERT_FILE), 'utf8'), ca.certificatePem);
    const f = writeFiles(tmp.dir, { 'ca.pem': ca.certificatePem });
    const text = openssl(['x509', '-in', f['ca.pem'], '-noout', '-text']).stdout;
    assert.match(text, /Issuer: CN = Plant 7 Pairing CA/);
    assert.match(text, /Subject: CN = Plant 7 Pairing CA/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    const selfCheck = openssl(['verify', '-CAfile', f['ca.pem'], '-purpose', 'crlsign', f['ca.pem']]);
    assert.equal(selfCheck.status, 0, selfCheck.stderr);
    const days = (ca.notAfter.getTime() - Date.now()) / 86400_000;
    assert.ok(days > 364 && days <= 365, `CA validity ${days} days`);
  });

  it('reloads the same key and certificate, so earlier certificates still check', () => {
    const dir = join(tmp.dir, 'reload');
    const first = CertificateAuthority.loadOrCreate(dir);
    const leaf = first.issue({ csrPem: makeCsr().csrPem, commonName: 'r/AJInS0w3VpWpuOqkXhgZdA', serialHex: '01' });
    const keyBefore = readFileSync(join(dir, CA_KEY_FILE), 'utf8');
    const second = CertificateAuthority.loadOrCreate(dir, { commonName: 'ignored on reload' });
    assert.equal(second.created, false);
    assert.equal(second.certificatePem, first.certificatePem);
    assert.equal(readFileSync(join(dir, CA_KEY_FILE), 'utf8'), keyBefore);
    assert.equal(second.check(leaf.pem).ok, true);
  });

  it('re-creates a missing certificate from the existing key (same key, leaves still check)', () => {
    const dir = join(tmp.dir, 'recert');
    const first = CertificateAuthority.loadOrCreate(dir);
    const leaf = first.issue({ csrPem: makeCsr().csrPem, commonName: 'r/AJInS0w3VpWpuOqkXhgZdA', serialHex: '01' });
    unlinkSync(join(dir, CA_CERT_FILE));
    const second = CertificateAuthority.loadOrCreate(dir);
    assert.notEqual(second.certificatePem, first.certificatePem);
    assert.equal(second.check(leaf.pem).ok, true);
    assert.deepEqual(second.check(first.certificatePem), { ok: false, cause: 'INVALID' }, 'the old CA certificate is no client');
  });

  it("works with a plant's own P-384 or RSA key, and with a plant's own CA certificate", () => {
    const cases = [
      {
        name: 'p384',
        genkey: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp384r1'],
        sig: /ecdsa-with-SHA384/,
      },
      {
        name: 'rsa',
        genkey: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
        sig: /sha256WithRSAEncryption/,
      },
    ];
    const csrPem = makeCsr().csrPem;
    for (const c of cases) {
      for (const ownCert of [false, true]) {
        const dir = join(tmp.dir, `own-${c.name}-${ownCert}`);
        mkdirSync(dir, { mode: 0o700 });
        const key = openssl([...c.genkey, '-out', join(dir, CA_KEY_FILE)]);
        assert.equal(key.status, 0, key.stderr);
        if (ownCert) {
          const cert = openssl(
            [
              'req',
              '-x509',
              '-key',
              join(dir, CA_KEY_FILE),
              '-subj',
              '/O=Plant 7/CN=Plant CA',
              '-days',
              '30',
              '-out',
              join(dir, CA_CERT_FILE),
            ].concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
          );
          assert.equal(cert.status, 0, cert.stderr);
        }
        const ca = CertificateAuthority.loadOrCreate(dir);
        const leaf = ca.issue({ csrPem, commonName: 'r/AJInS0w3VpWpuOqkXhgZdA', serialHex: '01' });
        const f = writeFiles(tmp.dir, { 'own-ca.pem': ca.certificatePem, 'own-leaf.pem': leaf.pem });
        const v = openssl(['verify', '-CAfile', f['own-ca.pem'], f['own-leaf.pem']]);
        assert.equal(v.status, 0, `${c.name} ownCert=${ownCert}: ${v.stderr}${v.stdout}`);
        const text = openssl(['x509', '-in', f['own-leaf.pem'], '-noout', '-text']).stdout;
        assert.match(text, c.sig);
        if (ownCert) assert.match(text, /Issuer: O = Plant 7, CN = Plant CA/);
        assert.equal(ca.check(leaf.pem).ok, true);
        const crl = writeFiles(tmp.dir, {
          'own-crl.pem': ca.crl([{ serialHex: '01', revokedAt: new Date(), reason: 'superseded' }], { crlNumber: 1n }).pem,
        });
        const r = openssl([
          'verify',
          '-crl_check',
          '-CRLfile',
          crl['own-crl.pem'],
          '-CAfile',
          f['own-ca.pem'],
          f['own-leaf.pem'],
        ]);
        assert.match(r.stdout + r.stderr, /certificate revoked/);
      }
    }
  });

  it('gives a clear error, without the key content, for a corrupt key file', () => {
    const dir = join(tmp.dir, 'corrupt');
    CertificateAuthority.loadOrCreate(dir);
    const secretish = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg';
    writeFileSync(join(dir, CA_KEY_FILE), `-----BEGIN PRIVATE KEY-----\n${secretish}\n-----END PRIVATE KEY-----\n`);
    assert.throws(
      () => CertificateAuthority.loadOrCreate(dir),
      (e: unknown) => {
        assert.ok(isImprintError(e));
        assert.equal(e.code, 'CA_KEY_INVALID');
        assert.match(e.message, /CA key file .*ca-key\.pem is not a usable/);
        assert.ok(!JSON.stringify(e.toJSON()).includes(secretish));
        return true;
      },
    );
    writeFileSync(join(dir, CA_KEY_FILE), 'garbage');
    assert.throws(() => CertificateAuthority.loadOrCreate(dir), { code: 'CA_KEY_INVALID' });
  });

  it('refuses a certificate without its key, a mismatched pair and a corrupt certificate', () => {
    const a = join(tmp.dir, 'pair-a');
    const b = join(tmp.dir, 'pair-b');
    CertificateAuthority.loadOrCreate(a);
    CertificateAuthority.loadOrCreate(b);
    const keyB = readFileSync(join(b, CA_KEY_FILE), 'utf8');

    unlinkSync(join(b, CA_KEY_FILE));
    assert.throws(() => CertificateAuthority.loadOrCreate(b), { code: 'CA_KEY_MISSING' });
    assert.equal(existsSync(join(b, CA_KEY_FILE)), false, 'no new key was made');

    writeFileSync(join(b, CA_KEY_FILE), readFileSync(join(a, CA_KEY_FILE)), { mode: 0o600 });
    assert.throws(() => CertificateAuthority.loadOrCreate(b), { code: 'CA_MISMATCH' });

    writeFileSync(join(b, CA_KEY_FILE), keyB, { mode: 0o600 });
    writeFileSync(join(b, CA_CERT_FILE), 'not a certificate');
    assert.throws(() => CertificateAuthority.loadOrCreate(b), { code: 'CA_CERT_INVALID' });
  });

  it('gives processes that start together one shared CA', async () => {
    const dir = join(tmp.dir, 'race');
    const script = join(tmp.dir, 'load-ca.ts');
    const caModule = new URL('../../src/pairing/ca/certificate-authority.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { CertificateAuthority } from ${JSON.stringify(caModule)};\nprocess.stdout.write(CertificateAuthority.loadOrCreate(process.argv[2]).certificatePem);\n`,
    );
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 30_000,
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        child.stderr.on('data', (d) => {
          err += d;
        });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
      });
    const pems = await Promise.all([run(), run(), run()]);
    assert.match(pems[0], /BEGIN CERTIFICATE/);
    assert.deepEqual(new Set(pems).size, 1);
    assert.equal(pems[0], readFileSync(join(dir, CA_CERT_FILE), 'utf8'));
    assert.deepEqual(readdirSync(dir).sort(), [CA_CERT_FILE, CA_KEY_FILE].sort(), 'no temp file left behind');
  });

  it('refuses a bad common name or validity', () => {
    assert.throws(() => CertificateAuthority.loadOrCreate(join(tmp.dir, 'x'), { commonName: '' }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => CertificateAuthority.loadOrCreate(join(tmp.dir, 'y'), { validityDays: 0 }), { code: 'INVALID_ARGUMENT' });
  });
});
