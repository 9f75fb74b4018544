import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  children,
  DerError,
  oid,
  readTime,
  readTlv,
  readWhole,
  seq,
  TAG,
  time,
  tlv,
  uintFromBigInt,
  uintFromBytes,
} from '../../src/pairing/ca/der-codec.ts';
import { PemError, pemDecode, pemEncode } from '../../src/pairing/ca/pem.ts';

const hex = (b: Buffer) => b.toString('hex');

describe('DER codec', () => {
  it('encodes lengths in the shortest form and reads them back', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 70000]) {
      const enc = tlv(TAG.OCTET_STRING, Buffer.alloc(n, 7));
      const t = readWhole(enc, TAG.OCTET_STRING);
      assert.equal(t.end - t.contentStart, n);
    }
    assert.equal(hex(tlv(TAG.OCTET_STRING, Buffer.alloc(128)).subarray(0, 3)), '048180');
  });

  it('refuses BER-only and broken encodings', () => {
    const cases: [string, RegExp][] = [
      ['3080', /indefinite/],
      ['04810500000000', /non-minimal/],
      ['0482000500000000', /non-minimal/],
      ['0405000000', /truncated/],
      ['04', /truncated/],
      ['1f0100', /multi-byte tags/],
      ['0485ffffffffff', /too large/],
    ];
    for (const [h, why] of cases)
      assert.throws(
        () => readTlv(Buffer.from(h, 'hex'), 0),
        (e: unknown) => e instanceof DerError && why.test(e.message),
      );
    assert.throws(() => readWhole(Buffer.from('0400ff', 'hex'), TAG.OCTET_STRING), /trailing data/);
    assert.throws(() => readWhole(Buffer.from('0400', 'hex'), TAG.SEQUENCE), /expected tag/);
    // A child that overruns its parent is caught, not read past the parent's end.
    assert.throws(() => children(Buffer.from('3003040500', 'hex'), readTlv(Buffer.from('3003040500', 'hex'), 0)), /truncated/);
  });

  it('encodes non-negative INTEGERs minimally, with a sign octet when needed', () => {
    assert.equal(hex(uintFromBytes(Buffer.from('0000ab', 'hex'))), '020200ab');
    assert.equal(hex(uintFromBytes(Buffer.from('7f', 'hex'))), '02017f');
    assert.equal(hex(uintFromBytes(Buffer.from('00', 'hex'))), '020100');
    assert.equal(hex(uintFromBigInt(0n)), '020100');
    assert.equal(hex(uintFromBigInt(256n)), '02020100');
    assert.throws(() => uintFromBigInt(-1n), DerError);
  });

  it('encodes OIDs', () => {
    assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(oid('2.5.29.19')), '0603551d13');
  });

  it('writes UTCTime until 2049 and GeneralizedTime from 2050, and reads both back', () => {
    const d1 = new Date('2049-12-31T23:59:59Z');
    const d2 = new Date('2050-01-01T00:00:00Z');
    assert.equal(time(d1).toString('latin1', 2), '491231235959Z');
    assert.equal(time(d1)[0], TAG.UTC_TIME);
    assert.equal(time(d2).toString('latin1', 2), '20500101000000Z');
    assert.equal(time(d2)[0], TAG.GENERALIZED_TIME);
    for (const d of [d1, d2, new Date('1999-06-01T12:00:00Z')]) {
      const enc = time(d);
      assert.equal(readTime(enc, readWhole(enc, enc[0])).toISOString(), d.toISOString());
    }
    for (const bad of ['491231235959', '4912312359Z', '491332235959Z', '490230000000Z', '491231235960Z']) {
      const enc = tlv(TAG.UTC_TIME, Buffer.from(bad, 'latin1'));
      assert.throws(() => readTime(enc, readWhole(enc, TAG.UTC_TIME)), /malformed time/, bad);
    }
    const wrongType = tlv(TAG.OCTET_STRING, Buffer.from('491231235959Z', 'latin1'));
    assert.throws(() => readTime(wrongType, readWhole(wrongType, TAG.OCTET_STRING)), /malformed time/);
  });
});

describe('PEM', () => {
  const der = seq(tlv(TAG.INTEGER, Buffer.from([1])));

  it('round-trips, with 64-character lines, CRLF and surrounding text tolerated', () => {
    const pem = pemEncode(Buffer.alloc(100, 1), 'CERTIFICATE');
    assert.ok(pem.split('\n').every((l) => l.length <= 64));
    assert.deepEqual(pemDecode(pem, ['CERTIFICATE']), Buffer.alloc(100, 1));
    assert.deepEqual(pemDecode(`note\r\n${pemEncode(der, 'X').replaceAll('\n', '\r\n')}trailer`, ['X']), der);
  });

  it('refuses wrong labels, mismatched END, bad Base64 and oversized input', () => {
    const pem = pemEncode(der, 'CERTIFICATE');
    assert.throws(() => pemDecode(pem, ['CERTIFICATE REQUEST']), PemError);
    assert.throws(() => pemDecode(pem.replace('END CERTIFICATE', 'END CERTIFICATE REQUEST'), ['CERTIFICATE']), /labels differ/);
    assert.throws(() => pemDecode(pem.replace(/MA/, 'M*'), ['CERTIFICATE']), /Base64/);
    assert.throws(() => pemDecode(pem.replace(/\n([^-\n]+)\n/, '\n$1=\n'), ['CERTIFICATE']), /Base64/);
    assert.throws(() => pemDecode(pemEncode(Buffer.alloc(70_000), 'CERTIFICATE'), ['CERTIFICATE']), /too large/);
    assert.throws(() => pemDecode('', ['CERTIFICATE']), /empty/);
  });
});
