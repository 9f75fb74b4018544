// OCSP responder over real HTTP, checked with `openssl ocsp`: good for a live certificate, revoked (with its
// reason and time) for a superseded one, unknown for a serial never issued; signed responses carrying
// thisUpdate/nextUpdate and the request nonce; the responder URL in every issued certificate's AIA.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { buildPairingServer, type PairingFastify } from '../../src/pairing/http/server.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

/** Asynchronously: the server answering openssl runs in this very process. */
function openssl(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, out: `${stdout}\n${stderr}` });
    });
  });
}

describe('OCSP responder', () => {
  let dir: string;
  let core: EmbeddedPairingCore;
  let app: PairingFastify;
  let base = '';
  const files: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-ocsp-'));
    // The URL is known once the server listens (port 0): the core asks for it at issue time.
    core = await EmbeddedPairingCore.open({ dataDir: join(dir, 'data'), ocspUrl: (realm) => `${base}/v1/${realm}/ca/ocsp` });
    await core.createRealm({ name: 'test', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    app = await buildPairingServer({ core });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const { credentialsSecret } = await core.registerDevice('test', DEVICE);
    const first = await core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    const second = await core.requestCredentials('test', DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    for (const [name, text] of Object.entries({ ca: core.caCertificatePem(), old: first.clientCrt, live: second.clientCrt })) {
      files[name] = join(dir, `${name}.pem`);
      writeFileSync(files[name], text);
    }
  });
  after(async () => {
    await app.close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (...target: string[]) =>
    openssl(['ocsp', '-issuer', files.ca, ...target, '-url', `${base}/v1/test/ca/ocsp`, '-CAfile', files.ca, '-resp_text']);

  test('issued certificates carry the responder URL in their authority information access', async () => {
    const r = await openssl(['x509', '-in', files.live, '-noout', '-ocsp_uri']);
    assert.equal(r.status, 0);
    assert.equal(r.out.trim(), `${base}/v1/test/ca/ocsp`);
  });

  test('a live certificate is good; the answer is signed by the CA, with thisUpdate, nextUpdate and the nonce', async () => {
    const r = await ask('-cert', files.live);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Response verify OK/);
    assert.match(r.out, new RegExp(`${files.live.replace(/[/.]/g, '\\$&')}: good`));
    assert.match(r.out, /This Update: .+\n\s+Next Update: .+/);
    assert.match(r.out, /OCSP Nonce/);
    assert.doesNotMatch(r.out, /WARNING: no nonce/);
  });

  test('a superseded certificate is revoked, with the reason and the time', async () => {
    const r = await ask('-cert', files.old);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Response verify OK/);
    assert.match(r.out, new RegExp(`${files.old.replace(/[/.]/g, '\\$&')}: revoked`));
    assert.match(r.out, /Reason: superseded/);
    assert.match(r.out, /Revocation Time: \w{3} +\d+ \d\d:\d\d:\d\d \d{4} GMT/);
  });

  test('a serial never issued is unknown; several certificates are answered in one request', async () => {
    const r = await ask('-serial', '0x1234567890abcdef', '-cert', files.live);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /0x1234567890abcdef: unknown/);
    assert.match(r.out, /: good/);
  });

  test('another realm does not vouch for this realm’s certificates', async () => {
    await core.createRealm({ name: 'other', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    const r = await openssl([
      'ocsp',
      '-issuer',
      files.ca,
      '-cert',
      files.live,
      '-url',
      `${base}/v1/other/ca/ocsp`,
      '-CAfile',
      files.ca,
    ]);
    assert.match(r.out, /: unknown/);
  });

  test('GET with the base64 request in the path answers the same; garbage gets malformedRequest; unknown realm 403', async () => {
    const reqFile = join(dir, 'req.der');
    assert.equal((await openssl(['ocsp', '-issuer', files.ca, '-cert', files.old, '-no_nonce', '-reqout', reqFile])).status, 0);
    const der = (await import('node:fs')).readFileSync(reqFile);
    const res = await fetch(`${base}/v1/test/ca/ocsp/${encodeURIComponent(der.toString('base64'))}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/ocsp-response');
    const respFile = join(dir, 'resp.der');
    writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
    const r = await openssl(['ocsp', '-respin', respFile, '-issuer', files.ca, '-cert', files.old, '-CAfile', files.ca]);
    assert.match(r.out, /Response verify OK/);
    assert.match(r.out, /: revoked/);

    const bad = await fetch(`${base}/v1/test/ca/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]),
    });
    assert.equal(bad.status, 200);
    assert.deepEqual([...new Uint8Array(await bad.arrayBuffer())], [0x30, 0x03, 0x0a, 0x01, 0x01]); // malformedRequest
    const forbidden = await fetch(`${base}/v1/nosuchrealm/ca/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: new Uint8Array(der),
    });
    assert.equal(forbidden.status, 403);
  });
});
