import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { derToPem, makeCsr, openssl, pemToDer, tempDir, writeFiles } from '../helpers/ca-csr.ts';

const CN = 'test/AJInS0w3VpWpuOqkXhgZdA';

describe('CertificateAuthority.check and .crl', () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let csrPem: string;

  before(() => {
    ca = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`);
    // Same CA name, different key: only the signature tells them apart.
    otherCa = CertificateAuthority.loadOrCreate(`${tmp.dir}/other-ca`);
    csrPem = makeCsr('ec-p256').csrPem;
  });
  after(() => tmp.cleanup());

  it('accepts a certificate it issued and reports its serial, CN and expiry', () => {
    const issued = ca.issue({ csrPem, commonName: CN, serialHex: 'c0ffee' });
    assert.deepEqual(ca.check(issued.pem), { ok: true, serialHex: 'c0ffee', commonName: CN, notAfter: issued.notAfter });
  });

  it("answers INVALID_SIGNATURE for another CA with the CA's name, INVALID_ISSUER for another name (Astarte's causes)", () => {
    const foreign = otherCa.issue({ csrPem, commonName: CN, serialHex: '01' });
    assert.deepEqual(ca.check(foreign.pem), { ok: false, cause: 'INVALID_SIGNATURE' });
    const renamed = CertificateAuthority.loadOrCreate(`${tmp.dir}/renamed-ca`, { commonName: 'Someone Else' });
    assert.deepEqual(ca.check(renamed.issue({ csrPem, commonName: CN, serialHex: '01' }).pem), {
      ok: false,
      cause: 'INVALID_ISSUER',
    });
  });

  it('answers INVALID_SIGNATURE when the signed content was tampered with', () => {
    const der = pemToDer(ca.issue({ csrPem, commonName: CN, serialHex: '02' }).pem);
    const i = der.indexOf(Buffer.from(CN));
    der[i + CN.length - 1] ^= 0x01; // change the subject: the CA's signature no longer covers it
    assert.deepEqual(ca.check(derToPem(der, 'CERTIFICATE')), { ok: false, cause: 'INVALID_SIGNATURE' });
  });

  it('answers EXPIRED after notAfter and before notBefore (Erlang reports both as cert_expired), before any issuer check', () => {
    const issued = ca.issue({ csrPem, commonName: CN, serialHex: '03', validityDays: 1 });
    assert.equal(ca.check(issued.pem, issued.notAfter).ok, true); // notAfter itself is still valid
    assert.deepEqual(ca.check(issued.pem, new Date(issued.notAfter.getTime() + 1000)), { ok: false, cause: 'EXPIRED' });
    assert.deepEqual(ca.check(issued.pem, new Date(issued.notBefore.getTime() - 1000)), { ok: false, cause: 'EXPIRED' });
    const foreign = otherCa.issue({ csrPem, commonName: CN, serialHex: '05', validityDays: 1 });
    assert.deepEqual(ca.check(foreign.pem, new Date(foreign.notAfter.getTime() + 1000)), { ok: false, cause: 'EXPIRED' });
  });

  it('answers INVALID for garbage, other PEM types and the CA certificate itself', () => {
    const leafDer = pemToDer(ca.issue({ csrPem, commonName: CN, serialHex: '04' }).pem);
    const leafPem = derToPem(leafDer, 'CERTIFICATE');
    const garbage = ['', 'garbage', csrPem, derToPem(leafDer.subarray(0, 100), 'CERTIFICATE'), ca.certificatePem];
    // As Astarte: exactly one PEM entry; a chain, or a certificate with its key, is INVALID.
    garbage.push(leafPem + ca.certificatePem, leafPem + csrPem);
    for (const pem of garbage) {
      assert.deepEqual(ca.check(pem), { ok: false, cause: 'INVALID' });
    }
    assert.deepEqual(ca.check(undefined as unknown as string), { ok: false, cause: 'INVALID' });
  });

  it('signs a CRL that openssl verifies, listing the revoked serials with their reasons', () => {
    const revokedAt = new Date('2026-01-02T03:04:05Z');
    const crl = ca.crl(
      [
        { serialHex: 'c0ffee', revokedAt, reason: 'superseded' },
        { serialHex: '00abcdef', revokedAt, reason: 'keyCompromise' },
        { serialHex: '0123', revokedAt, reason: 'unspecified' },
      ],
      { crlNumber: 42n, thisUpdate: new Date('2026-01-02T04:00:00Z') },
    );
    assert.match(crl.pem, /^-----BEGIN X509 CRL-----\n/);
    assert.deepEqual(pemToDer(crl.pem), crl.der);
    const files = writeFiles(tmp.dir, { 'ca.pem': ca.certificatePem, 'crl.pem': crl.pem });
    const r = openssl(['crl', '-in', files['crl.pem'], '-noout', '-text', '-CAfile', files['ca.pem']]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /verify OK/);
    assert.match(r.stdout, /Version 2/);
    assert.match(r.stdout, /CRL Number:\s+42/);
    assert.match(r.stdout, /Authority Key Identifier/);
    assert.match(r.stdout, /Last Update: Jan {2}2 04:00:00 2026 GMT/);
    assert.match(r.stdout, /Next Update: Jan {2}3 04:00:00 2026 GMT/);
    assert.match(
      r.stdout,
      /Serial Number: C0FFEE\s+Revocation Date: Jan {2}2 03:04:05 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/,
    );
    assert.match(
      r.stdout,
      /Serial Number: ABCDEF\s+Revocation Date: [^\n]+\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/,
    );
    assert.match(r.stdout, /Serial Number: 0123\s+Revocation Date: [^\n]+\n\s+Signature Algorithm/); // no reason extension
    assert.doesNotMatch(otherCa.crl([], { crlNumber: 1n }).pem, /^$/);
    const empty = writeFiles(tmp.dir, { 'empty.pem': ca.crl([], { crlNumber: 0n }).pem });
    const e = openssl(['crl', '-in', empty['empty.pem'], '-noout', '-text', '-CAfile', files['ca.pem']]);
    assert.match(e.stderr + e.stdout, /verify OK[\s\S]*No Revoked Certificates/);
    const foreign = openssl([
      'crl',
      '-in',
      files['crl.pem'],
      '-noout',
      '-CAfile',
      writeFiles(tmp.dir, { 'o.pem': otherCa.certificatePem })['o.pem'],
    ]);
    assert.doesNotMatch(foreign.stderr + foreign.stdout, /verify OK/);
  });

  it('makes openssl verify -crl_check reject a revoked certificate and accept the others', () => {
    const revoked = ca.issue({ csrPem, commonName: CN, serialHex: 'dead01' });
    const good = ca.issue({ csrPem, commonName: CN, serialHex: 'dead02' });
    const crl = ca.crl([{ serialHex: revoked.serialHex, revokedAt: new Date(), reason: 'superseded' }], { crlNumber: 2n });
    const f = writeFiles(tmp.dir, {
      'ca.pem': ca.certificatePem,
      'crl2.pem': crl.pem,
      'revoked.pem': revoked.pem,
      'good.pem': good.pem,
    });
    const bad = openssl(['verify', '-crl_check', '-CRLfile', f['crl2.pem'], '-CAfile', f['ca.pem'], f['revoked.pem']]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /certificate revoked/);
    const ok = openssl(['verify', '-crl_check', '-CRLfile', f['crl2.pem'], '-CAfile', f['ca.pem'], f['good.pem']]);
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  });

  it('leaves out certificates that expired before the previous CRL period', () => {
    const thisUpdate = new Date('2026-06-10T00:00:00Z');
    const at = new Date('2026-01-01T00:00:00Z');
    const crl = ca.crl(
      [
        { serialHex: 'aa01', revokedAt: at, reason: 'superseded', notAfter: new Date('2026-06-08T23:59:59Z') }, // long expired
        { serialHex: 'aa02', revokedAt: at, reason: 'superseded', notAfter: new Date('2026-06-09T12:00:00Z') }, // listed once more
        { serialHex: 'aa03', revokedAt: at, reason: 'superseded', notAfter: new Date('2026-09-01T00:00:00Z') },
        { serialHex: 'aa04', revokedAt: at, reason: 'superseded' },
      ],
      { crlNumber: 3n, thisUpdate },
    );
    const text = openssl(['crl', '-noout', '-text'], { input: crl.pem }).stdout;
    const listed = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]);
    assert.deepEqual(listed, ['AA02', 'AA03', 'AA04']);
  });

  it('refuses bad CRL input with INVALID_ARGUMENT', () => {
    const at = new Date();
    assert.throws(() => ca.crl([{ serialHex: 'zz', revokedAt: at, reason: 'superseded' }], { crlNumber: 1n }), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => ca.crl([{ serialHex: '01', revokedAt: new Date(Number.NaN), reason: 'superseded' }], { crlNumber: 1n }), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => ca.crl([{ serialHex: '01', revokedAt: at, reason: 'bogus' as 'superseded' }], { crlNumber: 1n }), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => ca.crl([], { crlNumber: -1n }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => ca.crl([], { crlNumber: 1n, thisUpdate: at, nextUpdate: at }), { code: 'INVALID_ARGUMENT' });
  });
});
