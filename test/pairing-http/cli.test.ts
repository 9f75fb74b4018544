// `imprint pairing …` end to end, as a new user would run it: keygen, realm create/list, token,
// serve on a free port, register and get a certificate with fetch, device show/inhibit, one-line errors.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeDeviceCsr, opensslSubject, opensslVerify } from '../helpers/pairing-keys.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/imprint.mjs');
const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

function imprint(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  // One error line, then (when the code has one) what to do.
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1].startsWith('  → ')), `expected one line, got: ${r.stderr}`);
  assert.match(lines[0], /^imprint: [A-Z_]+: /);
  assert.match(lines[0], pattern);
}

/** Start `imprint pairing serve` and resolve with its URL once it prints the listening line. */
function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'pairing', 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${err}`));
    }, 30_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}): ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('imprint pairing CLI', () => {
  let dir: string;
  let data: string;
  let keys: string;
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-pairing-cli-'));
    data = join(dir, 'data');
    keys = join(dir, 'keys');
  });
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('keygen, realm create, realm list, token, serve, register with fetch, device show/inhibit', async () => {
    const kg = imprint(['pairing', 'keygen', '--out', keys]);
    assert.equal(kg.code, 0, kg.stderr);
    assert.equal(statSync(join(keys, 'realm-private.pem')).mode & 0o777, 0o600);
    assertOneLineError(imprint(['pairing', 'keygen', '--out', keys]), /already exists/);

    const rc = imprint([
      'pairing',
      'realm',
      'create',
      'factory1',
      '--public-key',
      join(keys, 'realm-public.pem'),
      '--broker-url',
      'mqtts://broker.example.com:8883/',
      '--limit',
      '1000',
      '--data',
      data,
    ]);
    assert.equal(rc.code, 0, rc.stderr);
    assert.match(rc.stdout, /Realm factory1 created/);
    const list = imprint(['pairing', 'realm', 'list', '--json'], { IMPRINT_DATA: data });
    assert.equal(list.code, 0, list.stderr);
    const realms = JSON.parse(list.stdout);
    assert.equal(realms[0].name, 'factory1');
    assert.equal(realms[0].deviceRegistrationLimit, 1000);

    const tok = imprint([
      'pairing',
      'token',
      '--private-key',
      join(keys, 'realm-private.pem'),
      '--scope',
      'POST::agent/devices',
      '--ttl',
      '600',
    ]);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.a_pa, ['POST::agent/devices']);
    assert.equal(payload.exp - payload.iat, 600);
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, 'ES256');

    const { child, url } = await serve(['--data', data, '--port', '0']);
    children.push(child);
    const reg = await fetch(`${url}/v1/factory1/agent/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { hw_id: DEVICE } }),
    });
    assert.equal(reg.status, 201);
    const { data: body } = (await reg.json()) as { data: { credentials_secret: string } };
    const info = await fetch(`${url}/v1/factory1/devices/${DEVICE}`, {
      headers: { authorization: `Bearer ${body.credentials_secret}` },
    });
    assert.equal(info.status, 200);
    const infoBody = (await info.json()) as { data: { protocols: { astarte_mqtt_v1: { broker_url: string } } } };
    assert.equal(infoBody.data.protocols.astarte_mqtt_v1.broker_url, 'mqtts://broker.example.com:8883/');

    // A certificate from the served core: its signing thread is an ordinary TypeScript module that loads
    // under bin/imprint.mjs's loader (common/typescript-worker.ts), and the CA's certificate verifies it.
    const other = 'Bk0PV6QTRLiXl2yQ4wQQ7Q';
    const reg2 = await fetch(`${url}/v1/factory1/agent/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { hw_id: other } }),
    });
    const secret2 = ((await reg2.json()) as { data: { credentials_secret: string } }).data.credentials_secret;
    const crt = await fetch(`${url}/v1/factory1/devices/${other}/protocols/astarte_mqtt_v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret2}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { csr: makeDeviceCsr().csrPem } }),
    });
    assert.equal(crt.status, 201);
    const { client_crt } = ((await crt.json()) as { data: { client_crt: string } }).data;
    const caPem = await (await fetch(`${url}/v1/factory1/ca`)).text();
    assert.ok(opensslVerify(caPem, client_crt).ok);
    assert.equal(opensslSubject(client_crt), `CN=factory1/${other}`);

    // Port in use: one line, non-zero exit.
    assertOneLineError(imprint(['pairing', 'serve', '--data', data, '--port', new URL(url).port]), /already in use/);

    // Administration while the server runs (same data dir).
    const show = imprint(['pairing', 'device', 'show', 'factory1', DEVICE, '--data', data, '--json']);
    assert.equal(show.code, 0, show.stderr);
    const rec = JSON.parse(show.stdout);
    assert.equal(rec.status, 'pending');
    assert.ok(!show.stdout.includes(body.credentials_secret));
    assert.equal(imprint(['pairing', 'device', 'inhibit', 'factory1', DEVICE, '--data', data]).code, 0);
    assert.equal(
      JSON.parse(imprint(['pairing', 'device', 'show', 'factory1', DEVICE, '--data', data, '--json']).stdout).status,
      'inhibited',
    );

    child.kill('SIGTERM');
    assert.equal(await exited(child), 0, 'clean shutdown on SIGTERM');
  });

  test('bad input: one-line errors and a non-zero exit', () => {
    const bad = join(dir, 'not-a-key.pem');
    writeFileSync(bad, 'hello');
    assertOneLineError(
      imprint(['pairing', 'realm', 'create', 'x', '--public-key', join(dir, 'missing.pem'), '--data', data]),
      /Cannot read/,
    );
    assertOneLineError(imprint(['pairing', 'realm', 'create', 'x', '--public-key', bad, '--data', data]), /Not a PEM public key/);
    assertOneLineError(imprint(['pairing', 'token', '--private-key', bad]), /Not a PEM private key/);
    assertOneLineError(
      imprint(['pairing', 'device', 'show', 'nosuchrealm', DEVICE, '--data', data]),
      /Unknown realm "nosuchrealm"/,
    );
    assertOneLineError(imprint(['pairing', 'device', 'show', 'factory1', 'short', '--data', data]), /Invalid device id/);
    assertOneLineError(imprint(['pairing', 'serve', '--data', data, '--port', 'abc']), /--port must be an integer/);
  });
});
