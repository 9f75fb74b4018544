// Every single-byte change of a valid CSR or certificate must be refused cleanly: INVALID_CSR for a CSR
// (never another error, never a certificate), a not-ok answer from check() (never a throw, never "valid").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isImprintError } from '../../src/common/errors.ts';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { derToPem, makeCsr, pemToDer, tempDir } from '../helpers/ca-csr.ts';

const CN = 'test/AJInS0w3VpWpuOqkXhgZdA';

/** Deterministic positions and XOR masks, so a failure is reproducible. */
function* mutations(length: number, count: number): Generator<{ at: number; mask: number }> {
  let x = 0x2545f491;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = x >>> 0;
    yield { at: i < length ? i : r % length, mask: ((r >>> 8) % 255) + 1 };
  }
}

describe('single-byte mutations', () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  before(() => {
    ca = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`);
  });
  after(() => tmp.cleanup());

  for (const kind of ['ec-p256', 'rsa-2048', 'rsa-2048-pss'] as const) {
    it(`of a ${kind} CSR are all refused with INVALID_CSR`, () => {
      const der = pemToDer(makeCsr(kind).csrPem);
      const count = Math.min(800, der.length * 2);
      let refused = 0;
      for (const { at, mask } of mutations(der.length, count)) {
        const mutated = Buffer.from(der);
        mutated[at] ^= mask;
        try {
          ca.issue({ csrPem: derToPem(mutated, 'CERTIFICATE REQUEST'), commonName: CN, serialHex: '01' });
          assert.fail(`byte ${at} ^ 0x${mask.toString(16)} was accepted`);
        } catch (e) {
          if (!isImprintError(e) || e.code !== 'INVALID_CSR') throw e;
          refused++;
        }
      }
      assert.equal(refused, count);
    });
  }

  it('of an issued certificate are never reported valid by check()', () => {
    const der = pemToDer(ca.issue({ csrPem: makeCsr().csrPem, commonName: CN, serialHex: '0abc' }).pem);
    const causes = new Set<string>();
    for (const { at, mask } of mutations(der.length, der.length * 2)) {
      const mutated = Buffer.from(der);
      mutated[at] ^= mask;
      const r = ca.check(derToPem(mutated, 'CERTIFICATE'));
      assert.equal(r.ok, false, `byte ${at} ^ 0x${mask.toString(16)} was accepted`);
      if (!r.ok) causes.add(r.cause);
    }
    for (const cause of causes) assert.ok(['INVALID', 'EXPIRED', 'INVALID_ISSUER', 'INVALID_SIGNATURE'].includes(cause), cause);
    assert.ok(causes.has('INVALID') && causes.has('INVALID_SIGNATURE'), [...causes].join());
  });
});
