// The core serving HTTPS itself (`imprint pairing serve --tls-cert/--tls-key`): devices in the field use HTTPS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { servePairing } from '../../src/pairing/http/server.ts';
import { makeTempDir, openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { selfSignedTls } from '../helpers/self-signed-tls.ts';

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .once('error', reject)
      .end();
  });
}

describe('pairing server over TLS', () => {
  let t: TestCore;
  let dir: string;
  let tls: { cert: string; key: string };
  before(async () => {
    t = await openTestCore();
    dir = makeTempDir('imprint-tls-');
    const files = selfSignedTls(dir);
    tls = { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  });
  after(async () => {
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves the Pairing API over HTTPS with the given certificate, and says https in its URL', async () => {
    const server = await servePairing({ core: t.core, host: '127.0.0.1', port: 0, tls });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await get(`${server.url}/health`, tls.cert)).status, 200);
      const version = await get(`${server.url}/version`, tls.cert);
      assert.equal(version.status, 200);
      assert.equal(typeof JSON.parse(version.body).data, 'string');
      // A client that does not trust the certificate is refused by TLS, not answered.
      await assert.rejects(get(`${server.url}/health`, ''), /self.signed|certificate/i);
      // Plain HTTP on the TLS port gets no Pairing API answer.
      await assert.rejects(fetch(`${server.url.replace('https:', 'http:')}/health`).then((r) => r.text()));
    } finally {
      await server.close();
    }
  });

  test('imprint pairing serve refuses a TLS certificate without its key, in one line', () => {
    const bin = new URL('../../bin/imprint.mjs', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [bin, 'pairing', 'serve', '--data', dir, '--port', '0', '--tls-cert', join(dir, 'tls-cert.pem')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--tls-cert and --tls-key go together/);
  });
});
