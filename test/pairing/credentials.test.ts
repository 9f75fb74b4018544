import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPairingError, openTestCore } from '../helpers/pairing-core.ts';
import { makeDeviceCsr, opensslSubject, opensslVerify, tamperCsrSignature } from '../helpers/pairing-keys.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;

test('credentials: the certificate has CN realm/device, verifies with openssl, and confirms the device', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', `${DEVICE}extra`);
    const { csrPem } = makeDeviceCsr({ commonName: 'anything-the-device-likes' });
    const { clientCrt } = await t.core.requestCredentials('test', DEVICE, credentialsSecret, csrPem);
    assert.match(clientCrt, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(opensslSubject(clientCrt), `CN=test/${DEVICE}`);
    const caPem = t.core.caCertificatePem();
    const v = opensslVerify(caPem, clientCrt);
    assert.ok(v.ok, v.output);
    assert.equal((await t.core.getInfo('test', DEVICE, credentialsSecret)).status, 'confirmed');
    const rec = await t.core.showDevice('test', DEVICE);
    assert.equal(rec.status, 'confirmed');
    assert.match(rec.certificateSerial ?? '', /^[0-9a-f]{32}$/);
    assert.ok(rec.firstCredentialsRequestAt && rec.certificateNotAfter);

    const verified = await t.core.verifyCredentials('test', DEVICE, credentialsSecret, clientCrt);
    assert.equal(verified.valid, true);
    assert.match(verified.timestamp, TIMESTAMP);
    assert.ok(verified.valid && TIMESTAMP.test(verified.until));
    assert.equal(statSync(join(t.dataDir, 'ca')).isDirectory(), true, 'the CA lives under <dataDir>/ca/');
  } finally {
    await t.cleanup();
  }
});

test('after the first credentials request, registration is refused; unregister re-opens it', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    await assert.rejects(t.core.registerDevice('test', DEVICE), (e: unknown) => {
      isPairingError('ALREADY_REGISTERED', 422)(e);
      assert.equal((e as Error).message, 'Device already registered');
      return true;
    });
    // The secret still works: the device keeps asking for credentials.
    await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    await t.core.unregisterDevice('test', DEVICE);
    await assert.rejects(
      t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem),
      isPairingError('FORBIDDEN'),
    );
    const again = await t.core.registerDevice('test', DEVICE);
    assert.equal((await t.core.getInfo('test', DEVICE, again.credentialsSecret)).status, 'pending');
  } finally {
    await t.cleanup();
  }
});

test('a new certificate supersedes the previous one: REVOKED on verify and listed in the CRL', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    const first = await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    const firstSerial = (await t.core.showDevice('test', DEVICE)).certificateSerial!;
    const second = await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr({ type: 'rsa' }).csrPem);
    assert.notEqual((await t.core.showDevice('test', DEVICE)).certificateSerial, firstSerial);
    const old = await t.core.verifyCredentials('test', DEVICE, credentialsSecret, first.clientCrt);
    assert.deepEqual({ ...old, timestamp: 'x' }, { valid: false, timestamp: 'x', cause: 'REVOKED', details: null });
    assert.equal((await t.core.verifyCredentials('test', DEVICE, credentialsSecret, second.clientCrt)).valid, true);

    const crl = await t.core.crlPem();
    assert.match(crl, /^-----BEGIN X509 CRL-----/);
    const caPem = t.core.caCertificatePem();
    assert.equal(opensslVerify(caPem, second.clientCrt, { crlPem: crl }).ok, true);
    const revoked = opensslVerify(caPem, first.clientCrt, { crlPem: crl });
    assert.equal(revoked.ok, false);
    assert.match(revoked.output, /revoked/i);
  } finally {
    await t.cleanup();
  }
});

test('verify: another device’s certificate is INVALID, a foreign CA’s (same CA name) is INVALID_SIGNATURE, garbage is INVALID', async () => {
  const t = await openTestCore();
  const other = await openTestCore();
  try {
    const mine = await t.core.registerDevice('test', DEVICE);
    const theirs = await t.core.registerDevice('test', 'BJInS0w3VpWpuOqkXhgZdA');
    const theirCrt = await t.core.requestCredentials(
      'test',
      'BJInS0w3VpWpuOqkXhgZdA',
      theirs.credentialsSecret,
      makeDeviceCsr().csrPem,
    );
    const cause = async (pem: string) => {
      const r = await t.core.verifyCredentials('test', DEVICE, mine.credentialsSecret, pem);
      assert.equal(r.valid, false);
      assert.match(r.timestamp, TIMESTAMP);
      return r.valid ? undefined : r.cause;
    };
    assert.equal(await cause(theirCrt.clientCrt), 'INVALID');
    const foreign = await other.core.registerDevice('test', DEVICE);
    const foreignCrt = await other.core.requestCredentials('test', DEVICE, foreign.credentialsSecret, makeDeviceCsr().csrPem);
    assert.equal(await cause(foreignCrt.clientCrt), 'INVALID_SIGNATURE');
    assert.equal(await cause('not a certificate'), 'INVALID');
    await assert.rejects(t.core.verifyCredentials('test', DEVICE, 'wrong', theirCrt.clientCrt), isPairingError('FORBIDDEN', 403));
  } finally {
    await t.cleanup();
    await other.cleanup();
  }
});

test('verify: an expired certificate answers EXPIRED', async () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const t = await openTestCore({ now: () => now });
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    const { clientCrt } = await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    now = new Date(now.getTime() + 20 * 365 * 24 * 3600 * 1000);
    const r = await t.core.verifyCredentials('test', DEVICE, credentialsSecret, clientCrt);
    assert.equal(r.valid ? 'valid' : r.cause, 'EXPIRED');
    assert.equal(r.timestamp, '2045-12-27 00:00:00.000Z');
  } finally {
    await t.cleanup();
  }
});

test('credentials are refused with clear 4xx errors: inhibited device, bad CSR, wrong secret', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    const { csrPem } = makeDeviceCsr();
    await assert.rejects(
      t.core.requestCredentials('test', DEVICE, credentialsSecret, 'garbage'),
      isPairingError('INVALID_CSR', 422),
    );
    await assert.rejects(
      t.core.requestCredentials('test', DEVICE, credentialsSecret, tamperCsrSignature(csrPem)),
      isPairingError('INVALID_CSR', 422),
    );
    await assert.rejects(t.core.requestCredentials('test', DEVICE, 'wrong', csrPem), isPairingError('FORBIDDEN', 403));
    assert.equal((await t.core.showDevice('test', DEVICE)).status, 'pending', 'failed requests do not confirm the device');
    await t.core.setInhibited('test', DEVICE, true);
    await assert.rejects(
      t.core.requestCredentials('test', DEVICE, credentialsSecret, csrPem),
      isPairingError('DEVICE_INHIBITED', 403),
    );
    await t.core.setInhibited('test', DEVICE, false);
    const { clientCrt } = await t.core.requestCredentials('test', DEVICE, credentialsSecret, csrPem);
    assert.ok(clientCrt);
  } finally {
    await t.cleanup();
  }
});

test('certificates survive a restart: same CA, verify still valid', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    const { clientCrt } = await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    const caBefore = t.core.caCertificatePem();
    const core = await t.reopen();
    assert.equal(core.caCertificatePem(), caBefore);
    assert.equal((await core.verifyCredentials('test', DEVICE, credentialsSecret, clientCrt)).valid, true);
    assert.equal((await core.getInfo('test', DEVICE, credentialsSecret)).status, 'confirmed');
  } finally {
    await t.cleanup();
  }
});

test('the CRL number grows with every new CRL', async () => {
  let now = new Date('2026-03-01T00:00:00Z');
  const t = await openTestCore({ now: () => now });
  try {
    const crlNumber = (pem: string) => {
      const r = spawnSync('openssl', ['crl', '-noout', '-crlnumber'], { input: pem, encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      return BigInt(`0x${r.stdout.trim().replace(/^crlNumber=(0x)?/, '')}`);
    };
    const n0 = crlNumber(await t.core.crlPem());
    assert.equal(await t.core.crlPem(), await t.core.crlPem(), 'cached while nothing changes');
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    await t.core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    const n1 = crlNumber(await t.core.crlPem());
    now = new Date(now.getTime() + 2 * 24 * 3600 * 1000);
    const n2 = crlNumber(await t.core.crlPem());
    assert.ok(n0 < n1 && n1 < n2, `${n0} < ${n1} < ${n2}`);
  } finally {
    await t.cleanup();
  }
});
