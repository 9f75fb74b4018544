// Where a signing job runs: on the event loop unless it is saturated, else on a signing thread. Both give
// the same signature check and the same refusals.
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { readCsr } from '../../src/pairing/ca/csr.ts';
import { SigningThreads } from '../../src/pairing/ca/signing-threads.ts';
import { breakCsrSignature, makeCsr, tamperCsrEcPoint } from '../helpers/ca-csr.ts';

const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const tbs = Buffer.from('a TBSCertificate stands here');

for (const [where, offload] of [
  ['on the event loop', false],
  ['on a signing thread', true],
] as const) {
  describe(`signing jobs ${where}`, () => {
    it('signs with the CA key after the CSR proved possession, and refuses the CSRs that do not', async () => {
      const threads = new SigningThreads(caKeys.privateKey, 'sha256', 1, () => offload);
      try {
        const csrPem = makeCsr('ec-p256').csrPem;
        const results = await Promise.allSettled([
          threads.run({ csr: readCsr(csrPem), tbs }),
          threads.run({ csr: readCsr(breakCsrSignature(csrPem)), tbs }),
          threads.run({ csr: readCsr(makeCsr('rsa-2048').csrPem), tbs }),
          threads.run({ csr: readCsr(tamperCsrEcPoint(csrPem)), tbs }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
        );
        for (const r of [results[0], results[2]])
          assert.equal(
            verify('sha256', tbs, caKeys.publicKey, (r as PromiseFulfilledResult<Buffer>).value),
            true,
            'a CA signature',
          );
        assert.equal((results[1] as PromiseRejectedResult).reason.code, 'INVALID_CSR');
        assert.match((results[3] as PromiseRejectedResult).reason.message, /EC P-256 public key is not valid/);
        assert.deepEqual(threads.stats(), offload ? { inline: 0, threaded: 4 } : { inline: 4, threaded: 0 });
      } finally {
        await threads.close();
      }
    });
  });
}
