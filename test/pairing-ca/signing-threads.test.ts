// Where a signing job runs: on the event loop unless it is saturated, else on a signing thread. Both give
// the same signature check and the same refusals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCsr } from '../../src/pairing/ca/csr.ts';
import { SigningThreads } from '../../src/pairing/ca/signing-threads.ts';
import { nativeEcdsa } from '../../src/pairing/native-addon.ts';
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

describe('which jobs may go to a thread (the default policy)', () => {
  it('keeps the jobs the native addon does whole on the event loop; RSA CSRs and an RSA CA key are costly', async () => {
    const ecJob = { csr: readCsr(makeCsr('ec-p256').csrPem), tbs };
    const rsaJob = { csr: readCsr(makeCsr('rsa-2048').csrPem), tbs };
    const ecCa = new SigningThreads(caKeys.privateKey, 'sha256', 1);
    const rsaCaKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaCa = new SigningThreads(rsaCaKeys.privateKey, 'sha256', 1);
    try {
      // With the addon (npm install builds it) an EC CSR under an EC CA is ~100 µs of native crypto, about a
      // hand-off's cost: never offloaded. Without it (IMPRINT_NATIVE_ECDSA=off) every job is node:crypto's.
      assert.equal(ecCa.isCostly(ecJob), !nativeEcdsa.active, `addon ${nativeEcdsa.status}`);
      assert.equal(ecCa.isCostly(rsaJob), true, 'an RSA CSR is checked by node:crypto');
      assert.equal(rsaCa.isCostly(ecJob), true, 'the addon does not sign with an RSA CA key');
      // Whatever the policy says, the answers are the same.
      const [ec, rsa] = await Promise.all([ecCa.run(ecJob), rsaCa.run(ecJob)]);
      assert.equal(verify('sha256', tbs, caKeys.publicKey, ec), true);
      assert.equal(verify('sha256', tbs, rsaCaKeys.publicKey, rsa), true);
    } finally {
      await Promise.all([ecCa.close(), rsaCa.close()]);
    }
  });

  it('with the addon turned off, an EC job is costly too', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { generateKeyPairSync } from 'node:crypto';
         import { readCsr } from ${JSON.stringify(new URL('../../src/pairing/ca/csr.ts', import.meta.url).href)};
         import { SigningThreads } from ${JSON.stringify(new URL('../../src/pairing/ca/signing-threads.ts', import.meta.url).href)};
         import { makeCsr } from ${JSON.stringify(new URL('../helpers/ca-csr.ts', import.meta.url).href)};
         const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
         const t = new SigningThreads(ca.privateKey, 'sha256', 1);
         console.log(JSON.stringify(t.isCostly({ csr: readCsr(makeCsr('ec-p256').csrPem), tbs: Buffer.alloc(1) })));`,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, IMPRINT_NATIVE_ECDSA: 'off' } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  });
});

describe('no signing threads (imprint pairing serve --signing-threads 0)', () => {
  it('runs every job on the event loop, even when the loop is saturated', async () => {
    const threads = new SigningThreads(caKeys.privateKey, 'sha256', 0, () => true);
    try {
      const signature = await threads.run({ csr: readCsr(makeCsr('ec-p256').csrPem), tbs });
      assert.equal(verify('sha256', tbs, caKeys.publicKey, signature), true);
      await assert.rejects(threads.run({ csr: readCsr(breakCsrSignature(makeCsr('ec-p256').csrPem)), tbs }), {
        code: 'INVALID_CSR',
      });
      assert.deepEqual(threads.stats(), { inline: 2, threaded: 0 });
    } finally {
      await threads.close();
    }
  });

  it('imprint pairing serve refuses a thread count out of 0..64 before serving, saying which option', () => {
    const bin = new URL('../../bin/imprint.mjs', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'imprint-signing-threads-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'pairing', 'serve', '--data', dir, '--port', '0', '--signing-threads', '65'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.notEqual(r.status, 0);
      assert.equal(r.status, 2, 'the exit code of a bad argument');
      assert.match(r.stderr, /--signing-threads must be an integer from 0 to 64, got "65"/);
      assert.doesNotMatch(r.stdout, /listening|http:\/\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
