import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, ExtendedKeyUsage, id_ce_extKeyUsage, id_kp_clientAuth } from '@peculiar/asn1-x509';
import { isImprintError } from '../../src/common/errors.ts';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import {
  breakCsrSignature,
  derToPem,
  makeCsr,
  openssl,
  pemToDer,
  tamperCsrEcPoint,
  tamperCsrSubject,
  tempDir,
  writeFiles,
} from '../helpers/ca-csr.ts';

const CN = 'test/AJInS0w3VpWpuOqkXhgZdA';

function assertInvalidCsr(fn: () => unknown, messagePart?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isImprintError(e), 'an ImprintError');
    assert.equal(e.code, 'INVALID_CSR');
    assert.match(e.message, /^Invalid CSR: /);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

describe('CertificateAuthority.issue', () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  let files: Record<string, string>;
  let ecCsr: { csrPem: string; keyPem: string };
  let rsaCsr: { csrPem: string; keyPem: string };

  before(() => {
    ca = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`);
    ecCsr = makeCsr('ec-p256', '/CN=anything/O=Evil Corp/OU=not-the-device');
    rsaCsr = makeCsr('rsa-2048', '/CN=anything');
    files = writeFiles(tmp.dir, { 'ca.pem': ca.certificatePem });
  });
  after(async () => {
    await ca.close();
    tmp.cleanup();
  });

  function verifyWithOpenssl(leafPem: string, name: string) {
    const { [name]: leafPath } = writeFiles(tmp.dir, { [name]: leafPem });
    const r = openssl(['verify', '-CAfile', files['ca.pem'], '-purpose', 'sslclient', leafPath]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /: OK/);
    return leafPath;
  }

  it('refuses an OCSP URL that is not an absolute http(s) URL, also after a good one was used', () => {
    const issue = (ocspUrl: string, serialHex: string) => ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex, ocspUrl });
    const good = issue('https://pairing.example/v1/test/ca/ocsp', '0b01');
    const text = openssl(['x509', '-noout', '-text'], { input: good.pem }).stdout;
    assert.match(text, /OCSP - URI:https:\/\/pairing\.example\/v1\/test\/ca\/ocsp/);
    for (const bad of ['ftp://pairing.example/ocsp', 'https://pairing example/ocsp', 'not a url', '']) {
      assert.throws(() => issue(bad, '0b02'), /OCSP URL must be an absolute http\(s\) URL/, bad);
      issue('https://pairing.example/v1/test/ca/ocsp', '0b03');
    }
  });

  it('issues an EC P-256 certificate that openssl verifies, with exactly the forced CN', () => {
    const issued = ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '0a1b2c3d4e5f' });
    assert.equal(issued.serialHex, '0a1b2c3d4e5f');
    const leaf = verifyWithOpenssl(issued.pem, 'ec-leaf.pem');
    const subject = openssl(['x509', '-in', leaf, '-noout', '-subject', '-nameopt', 'RFC2253']);
    assert.equal(subject.stdout.trim(), `subject=CN=${CN}`);
    const text = openssl(['x509', '-in', leaf, '-noout', '-text']).stdout;
    assert.match(text, /Version: 3/);
    assert.match(text, /Serial Number: \d+ \(0xa1b2c3d4e5f\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Client Authentication/);
    assert.match(text, /Subject Key Identifier/);
    assert.match(text, /Authority Key Identifier/);
    assert.doesNotMatch(text, /Evil Corp|not-the-device|anything/);
  });

  it('issues an RSA-2048 certificate (digitalSignature + keyEncipherment)', () => {
    const issued = ca.issue({ csrPem: rsaCsr.csrPem, commonName: CN, serialHex: 'ff01' });
    const leaf = verifyWithOpenssl(issued.pem, 'rsa-leaf.pem');
    const text = openssl(['x509', '-in', leaf, '-noout', '-text']).stdout;
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.equal(issued.serialHex, 'ff01');
  });

  it('issueAsync (signing threads) gives the same certificates and the same refusals, many at once', async () => {
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ca.issueAsync({
          csrPem: i % 2 ? rsaCsr.csrPem : ecCsr.csrPem,
          commonName: `${CN}${i}`,
          serialHex: (1000 + i).toString(16),
        }),
      ),
    );
    all.forEach((issued, i) => {
      assert.equal(issued.serialHex, `0${(1000 + i).toString(16)}`); // canonical: whole octets
      assert.deepEqual(ca.check(issued.pem), {
        ok: true,
        serialHex: issued.serialHex,
        commonName: `${CN}${i}`,
        notAfter: issued.notAfter,
      });
    });
    verifyWithOpenssl(all[0].pem, 'async-ec.pem');
    verifyWithOpenssl(all[1].pem, 'async-rsa.pem');
    await assert.rejects(ca.issueAsync({ csrPem: breakCsrSignature(ecCsr.csrPem), commonName: CN, serialHex: '01' }), {
      code: 'INVALID_CSR',
    });
    await assert.rejects(ca.issueAsync({ csrPem: tamperCsrSubject(rsaCsr.csrPem), commonName: CN, serialHex: '01' }), {
      code: 'INVALID_CSR',
    });
    await assert.rejects(ca.issueAsync({ csrPem: 'garbage', commonName: CN, serialHex: '01' }), { code: 'INVALID_CSR' });
    await assert.rejects(ca.issueAsync({ csrPem: tamperCsrEcPoint(ecCsr.csrPem), commonName: CN, serialHex: '01' }), {
      code: 'INVALID_CSR',
      message: /EC P-256 public key is not valid/,
    });
    for (const kind of ['ec-p384', 'rsa-2048-pss'] as const) {
      verifyWithOpenssl(
        (await ca.issueAsync({ csrPem: makeCsr(kind).csrPem, commonName: CN, serialHex: '43' })).pem,
        `async-${kind}.pem`,
      );
    }
    await assert.rejects(ca.issueAsync({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: 'nope' }), {
      code: 'INVALID_ARGUMENT',
    });
  });

  it('issueAsync leaves the process free to exit when idle, and refuses work after close()', async () => {
    const script = `${tmp.dir}/issue-once.mts`;
    const caModule = new URL('../../src/pairing/ca/certificate-authority.ts', import.meta.url).href;
    writeFiles(tmp.dir, {
      'issue-once.mts': `import { readFileSync } from 'node:fs';
import { CertificateAuthority } from ${JSON.stringify(caModule)};
const ca = CertificateAuthority.loadOrCreate(process.argv[2], { signingThreads: 2 });
const issued = await ca.issueAsync({ csrPem: readFileSync(process.argv[3], 'utf8'), commonName: 'r/d', serialHex: '01' });
process.stdout.write(issued.serialHex);
`,
      'once.csr': ecCsr.csrPem,
    });
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, `${tmp.dir}/ca`, `${tmp.dir}/once.csr`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '01', 'the result came back before the process exited, without close()');

    const closing = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`, { signingThreads: 1 });
    await closing.issueAsync({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '01' });
    await closing.close();
    await assert.rejects(closing.issueAsync({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '01' }), { code: 'CA_CLOSED' });
    assert.throws(() => CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`, { signingThreads: -1 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`, { signingThreads: 65 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`, { signingThreads: 1.5 }), {
      code: 'INVALID_ARGUMENT',
    });
  });

  it('issues for EC P-384 (SHA-384) and RSA-PSS signed CSRs', () => {
    for (const kind of ['ec-p384', 'rsa-2048-pss'] as const) {
      const issued = ca.issue({ csrPem: makeCsr(kind).csrPem, commonName: CN, serialHex: '42' });
      verifyWithOpenssl(issued.pem, `${kind}.pem`);
    }
  });

  it('produces a certificate the @peculiar/asn1-x509 schemas parse, with the key of the CSR', () => {
    const issued = ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '01' });
    const cert = AsnConvert.parse(pemToDer(issued.pem), Certificate);
    assert.equal(cert.tbsCertificate.version, 2);
    const eku = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_extKeyUsage);
    assert.ok(eku);
    assert.deepEqual([...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)], [id_kp_clientAuth]);
    const certKey = Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo));
    const csrKey = openssl(['req', '-pubkey', '-noout'], { input: ecCsr.csrPem }).stdout;
    assert.deepEqual(certKey, pemToDer(csrKey));
  });

  it('uses the default validity with notBefore backdated for clock skew, never past the CA', () => {
    const now = new Date('2027-03-04T05:06:07.890Z');
    const issued = ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '02', now });
    assert.equal(issued.notBefore.toISOString(), '2027-03-04T04:06:07.000Z');
    assert.equal(issued.notAfter.toISOString(), '2027-06-02T05:06:07.000Z'); // 90 days
    const short = ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '03', validityDays: 1, now });
    assert.equal(short.notAfter.toISOString(), '2027-03-05T05:06:07.000Z');
    const long = ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '04', validityDays: 36500 });
    assert.equal(long.notAfter.getTime(), ca.notAfter.getTime());
  });

  it('canonicalizes the serial and refuses serials that are not positive, ≤ 20 octets', () => {
    assert.equal(ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: '00AB' }).serialHex, 'ab');
    assert.equal(ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex: 'f'.repeat(39) }).serialHex, `0${'f'.repeat(39)}`);
    for (const serialHex of ['', '0', '00', 'xyz', '-1', '8'.repeat(40), '1'.repeat(42)]) {
      assert.throws(() => ca.issue({ csrPem: ecCsr.csrPem, commonName: CN, serialHex }), { code: 'INVALID_ARGUMENT' }, serialHex);
    }
  });

  it('refuses an empty, control-character or CA-named common name', () => {
    for (const commonName of ['', 'a\nb', 'x'.repeat(257), 'Imprint Pairing CA']) {
      assert.throws(() => ca.issue({ csrPem: ecCsr.csrPem, commonName, serialHex: '01' }), { code: 'INVALID_ARGUMENT' });
    }
  });

  it('refuses a CSR whose signature or signed subject was altered (no proof of possession)', () => {
    assertInvalidCsr(() => ca.issue({ csrPem: breakCsrSignature(ecCsr.csrPem), commonName: CN, serialHex: '01' }));
    assertInvalidCsr(
      () => ca.issue({ csrPem: tamperCsrSubject(ecCsr.csrPem), commonName: CN, serialHex: '01' }),
      /self-signature/,
    );
    assertInvalidCsr(
      () => ca.issue({ csrPem: tamperCsrSubject(rsaCsr.csrPem), commonName: CN, serialHex: '01' }),
      /self-signature/,
    );
  });

  it('refuses garbage, empty input, truncated DER and PEM blocks with the wrong label', () => {
    const der = pemToDer(ecCsr.csrPem);
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['   \n', /empty/],
      ['hello world', /no PEM block/],
      [derToPem(der, 'CERTIFICATE'), /labelled "CERTIFICATE REQUEST"/],
      [ecCsr.keyPem, /got "PRIVATE KEY"/],
      [derToPem(der.subarray(0, der.length - 10), 'CERTIFICATE REQUEST'), /malformed/],
      [derToPem(Buffer.concat([der, Buffer.from([0])]), 'CERTIFICATE REQUEST'), /trailing data/],
      [derToPem(Buffer.from('not der at all'), 'CERTIFICATE REQUEST'), /malformed/],
      ['-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n', /Base64/],
      [ca.certificatePem.replaceAll('CERTIFICATE', 'CERTIFICATE REQUEST'), /malformed/],
    ];
    for (const [csrPem, why] of cases) assertInvalidCsr(() => ca.issue({ csrPem, commonName: CN, serialHex: '01' }), why);
    assertInvalidCsr(() => ca.issue({ csrPem: 42 as unknown as string, commonName: CN, serialHex: '01' }));
  });

  it('refuses weak or unsupported keys with a clear reason and no key material in the message', () => {
    const weak = makeCsr('rsa-1024');
    assertInvalidCsr(() => ca.issue({ csrPem: weak.csrPem, commonName: CN, serialHex: '01' }), /RSA key of 1024 bits/);
    const ed = makeCsr('ed25519');
    assertInvalidCsr(() => ca.issue({ csrPem: ed.csrPem, commonName: CN, serialHex: '01' }), /unsupported|EC P-256/);
    try {
      ca.issue({ csrPem: weak.csrPem, commonName: CN, serialHex: '01' });
    } catch (e) {
      const b64 = pemToDer(weak.csrPem).toString('base64');
      assert.ok(!String((e as Error).message).includes(b64.slice(40, 80)));
    }
  });
});
