import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  ECDH,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { bitString, children, readWhole, TAG, tlv, whole } from '../../src/pairing/ca/der-codec.ts';
import {
  type EcCurve,
  nativeEcdsa,
  nativeEcSign,
  nativeEcVerify,
  nativeHmacSha256Equals,
} from '../../src/pairing/native-addon.ts';
import { breakCsrSignature, derToPem, makeCsr, pemToDer, tamperCsrEcPoint, tempDir, writeFiles } from '../helpers/ca-csr.ts';

const NODE_CURVE: Record<EcCurve, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' };

function keyPair(curve: EcCurve): { privateKey: KeyObject; publicKey: KeyObject; point: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return { privateKey, publicKey, point };
}

/** The signature with one more zero octet before r: the same numbers, but not DER (BER). */
function nonMinimalDer(sig: Buffer): Buffer {
  const rLen = sig[3];
  const r = Buffer.concat([Buffer.from([0x02, rLen + 1, 0]), sig.subarray(4, 4 + rLen)]);
  const rest = sig.subarray(4 + rLen);
  return Buffer.concat([Buffer.from([0x30, r.length + rest.length]), r, rest]);
}

describe('native ECDSA addon', () => {
  it('is built by npm install and active, so the pairing core checks CSRs and signs with it', () => {
    assert.equal(nativeEcdsa.active, true, `the addon is ${nativeEcdsa.status}`);
  });

  for (const curve of ['P-256', 'P-384'] as const) {
    it(`answers every ${curve} signature check as node:crypto does`, () => {
      const { privateKey, publicKey, point } = keyPair(curve);
      const data = Buffer.from('certificationRequestInfo of a device');
      for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
        const sig = sign(hash, data, { key: privateKey, dsaEncoding: 'der' });
        const flipped = Buffer.from(sig);
        flipped[flipped.length - 1] ^= 1;
        const cases: [string, Buffer, Buffer, boolean][] = [
          ['valid', data, sig, true],
          ['data changed', Buffer.concat([data, Buffer.from('!')]), sig, false],
          ['signature bit flipped', data, flipped, false],
          ['trailing octet after the signature', data, Buffer.concat([sig, Buffer.from([0])]), false],
          ['r with a needless leading zero (BER, not DER)', data, nonMinimalDer(sig), false],
          ['empty signature', data, Buffer.alloc(0), false],
          ['a 300-byte signature', data, Buffer.concat([sig, Buffer.alloc(300 - sig.length, 1)]), false],
          ['a 70 KiB signature', data, Buffer.alloc(70_000, 0x30), false],
        ];
        for (const [what, d, s, expected] of cases) {
          const node = verify(hash, d, { key: publicKey, dsaEncoding: 'der' }, s);
          assert.equal(node, expected, `node:crypto, ${curve} ${hash}: ${what}`);
          assert.equal(nativeEcVerify(curve, point, hash, d, s), expected, `addon, ${curve} ${hash}: ${what}`);
        }
      }
      const compressed = ECDH.convertKey(point, NODE_CURVE[curve], undefined, undefined, 'compressed') as Buffer;
      const sig = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
      assert.equal(nativeEcVerify(curve, compressed, 'sha256', data, sig), true, 'a compressed point is the same key');
    });

    it(`refuses ${curve} points that are not keys, and leaves node:crypto's error queue clean`, () => {
      const { privateKey, point } = keyPair(curve);
      const data = Buffer.from('x');
      const sig = sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
      const offCurve = Buffer.from(point);
      offCurve[offCurve.length - 1] ^= 1;
      const other = curve === 'P-256' ? 'P-384' : 'P-256';
      for (const [what, p] of [
        ['off the curve', offCurve],
        ['the point at infinity', Buffer.from([0])],
        ['truncated', point.subarray(0, point.length - 1)],
        ['empty', Buffer.alloc(0)],
        [`a ${other} point`, keyPair(other).point],
      ] as const) {
        assert.equal(nativeEcVerify(curve, p, 'sha256', data, sig), 'bad-key', what);
      }
      // OpenSSL queues an error per refusal; node:crypto shares the queue and must not read ours as its own.
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
      assert.equal(createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType, 'ec');
      assert.equal(createPublicKey(privateKey).type, 'public');
    });

    it(`signs with a ${curve} CA key so that node:crypto verifies, with a fresh nonce each time`, () => {
      const { privateKey, publicKey } = keyPair(curve);
      const tbs = Buffer.from('TBSCertificate');
      const hash = curve === 'P-256' ? 'sha256' : 'sha384';
      const a = nativeEcSign(privateKey, hash, tbs);
      const b = nativeEcSign(privateKey, hash, tbs);
      assert.ok(a && b);
      assert.notDeepEqual(a, b);
      for (const s of [a, b]) assert.equal(verify(hash, tbs, { key: publicKey, dsaEncoding: 'der' }, s), true);
    });
  }

  it("refuses a CSR with an overlong signature as the device's error (INVALID_CSR), not the CA's", () => {
    const tmp = tempDir();
    try {
      const ca = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`, { signingThreads: 0 });
      const der = pemToDer(makeCsr('ec-p256').csrPem);
      const [info, algId] = children(der, readWhole(der, TAG.SEQUENCE));
      for (const length of [300, 4_000]) {
        const long = tlv(TAG.SEQUENCE, whole(der, info), whole(der, algId), bitString(Buffer.alloc(length, 0x30)));
        assert.throws(() => ca.issue({ csrPem: derToPem(long, 'CERTIFICATE REQUEST'), commonName: 'r/d', serialHex: '01' }), {
          code: 'INVALID_CSR',
          message: /self-signature does not verify/,
        });
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('computes HMAC-SHA256 as node:crypto does, for any key and text, and compares the whole digest', () => {
    const texts = [
      '',
      'a',
      'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
      'é secret ✓ 🔑',
      'x'.repeat(511),
      'y'.repeat(512),
      'z'.repeat(70_000),
    ];
    const keys = [Buffer.alloc(0), randomBytes(16), randomBytes(64), randomBytes(65), randomBytes(200)];
    for (const key of keys)
      for (const text of texts) {
        const digest = createHmac('sha256', key).update(text, 'utf8').digest();
        const what = `key ${key.length} B, text ${text.length} chars`;
        assert.equal(nativeHmacSha256Equals(key, text, digest), true, what);
        for (const i of [0, 31]) {
          const other = Buffer.from(digest);
          other[i] ^= 0x80;
          assert.equal(nativeHmacSha256Equals(key, text, other), false, `${what}, byte ${i} changed`);
        }
        assert.equal(nativeHmacSha256Equals(key, text, digest.subarray(0, 31)), false, `${what}, a shorter digest`);
        assert.equal(nativeHmacSha256Equals(key, text, Buffer.concat([digest, Buffer.alloc(1)])), false, `${what}, longer`);
      }
    assert.throws(
      () => (nativeHmacSha256Equals as (...a: unknown[]) => unknown)(randomBytes(16), Buffer.from('x'), randomBytes(32)),
      TypeError,
    );
  });

  it('leaves keys it does not sign with to node:crypto', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.equal(nativeEcSign(rsa, 'sha256', Buffer.from('x')), undefined, 'RSA');
    assert.equal(nativeEcSign(keyPair('P-256').publicKey, 'sha256', Buffer.from('x')), undefined, 'a public key');
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
    assert.equal(nativeEcSign(p521, 'sha512', Buffer.from('x')), undefined, 'P-521');
  });

  it('turned off (IMPRINT_NATIVE_ECDSA=off), the CA issues and refuses the same with node:crypto', () => {
    const tmp = tempDir();
    try {
      const caModule = new URL('../../src/pairing/ca/certificate-authority.ts', import.meta.url).href;
      const nativeModule = new URL('../../src/pairing/native-addon.ts', import.meta.url).href;
      const good = makeCsr('ec-p256').csrPem;
      writeFiles(tmp.dir, {
        'issue.mts': `import { readFileSync } from 'node:fs';
import { CertificateAuthority } from ${JSON.stringify(caModule)};
import { nativeEcdsa } from ${JSON.stringify(nativeModule)};
const ca = CertificateAuthority.loadOrCreate(process.argv[2], { signingThreads: 0 });
const out = { active: nativeEcdsa.active, status: nativeEcdsa.status, results: [] };
for (const f of ['good.csr', 'bad-signature.csr', 'bad-point.csr']) {
  try {
    const issued = await ca.issueAsync({ csrPem: readFileSync(process.argv[3] + '/' + f, 'utf8'), commonName: 'r/d', serialHex: '01' });
    out.results.push(issued.pem.includes('BEGIN CERTIFICATE') ? 'issued' : 'no certificate');
  } catch (e) {
    out.results.push(e.code + ': ' + e.message);
  }
}
await ca.close();
process.stdout.write(JSON.stringify(out));
`,
        'good.csr': good,
        'bad-signature.csr': breakCsrSignature(good),
        'bad-point.csr': tamperCsrEcPoint(good),
      });
      const r = spawnSync(process.execPath, ['--import', 'tsx', `${tmp.dir}/issue.mts`, `${tmp.dir}/ca`, tmp.dir], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, IMPRINT_NATIVE_ECDSA: 'off' },
      });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.active, false);
      assert.match(out.status, /turned off/);
      assert.equal(out.results[0], 'issued');
      assert.match(out.results[1], /^INVALID_CSR: .*self-signature does not verify/);
      assert.match(out.results[2], /^INVALID_CSR: .*EC P-256 public key is not valid/);
    } finally {
      tmp.cleanup();
    }
  });
});
