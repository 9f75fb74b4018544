// Plant IT's side and the device's side as processes: `imprint pairing serve --sign-realm`, the
// claim-token commands, and examples/claim-device-example.ts claiming as firmware would.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/imprint.mjs');
const EXAMPLE = join(ROOT, 'examples/claim-device-example.ts');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn', IMPRINT_OPERATOR: 'it-admin' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const imprint = (...args: string[]) => run([BIN, ...args]);
const device = (...args: string[]) => run(['--import', 'tsx', EXAMPLE, ...args]);

let dir: string;
let data: string;
let server: ChildProcess | undefined;
let url: string;

function serve(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'pairing', 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
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

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imprint-claims-cli-'));
  data = join(dir, 'data');
  writeFileSync(join(dir, 'realm.pem'), makeAgentKeyPair().publicKeyPem);
  const r = imprint(
    'pairing',
    'realm',
    'create',
    'plant',
    '--public-key',
    join(dir, 'realm.pem'),
    '--factory',
    'acme',
    '--data',
    data,
  );
  assert.equal(r.code, 0, r.stderr);
  url = await serve(['--data', data, '--port', '0', '--sign-realm', 'plant', '--sign-gateway-url', 'https://gw.acme.test:8443']);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server?.once('exit', done));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('mint, claim as firmware (twice: once registered), serial pattern, list, revoke: all audited', async () => {
  const created = imprint(
    'pairing',
    'claim-token',
    'create',
    'plant',
    '--max-uses',
    '3',
    '--expires',
    '12h',
    '--serial-pattern',
    'SN-[0-9]+',
    '--batch',
    'WO-42',
    '--url',
    url,
    '--data',
    data,
    '--json',
  );
  assert.equal(created.code, 0, created.stderr);
  const { token, jti, maxUses } = JSON.parse(created.stdout);
  assert.equal(maxUses, 3);
  assert.equal(statSync(join(data, 'claim-signing-key.pem')).mode & 0o777, 0o600);
  writeFileSync(join(dir, 'claim.jwt'), token);

  const creds = join(dir, 'credentials.json');
  const first = device('--token-file', join(dir, 'claim.jwt'), '--manufacturer-id', 'SN-1001', '--credentials', creds);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /registered as [A-Za-z0-9_-]{22} in realm plant/);
  assert.match(first.stdout, /status pending/);
  assert.equal(statSync(creds).mode & 0o777, 0o600);
  const stored = JSON.parse(readFileSync(creds, 'utf8'));
  assert.ok(!first.stdout.includes(stored.credentials_secret), 'the example never prints the secret');

  const again = device('--token-file', join(dir, 'claim.jwt'), '--manufacturer-id', 'SN-1001', '--credentials', creds);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already registered/);

  const outside = device(
    '--token-file',
    join(dir, 'claim.jwt'),
    '--manufacturer-id',
    'MAC-0A0B',
    '--credentials',
    join(dir, 'c2.json'),
  );
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /HTTP 403.*not allowed by this claim token/);

  const list = imprint('pairing', 'claim-token', 'list', 'plant', '--data', data, '--json');
  assert.equal(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).find((t: { jti: string }) => t.jti === jti).uses, 1);
  const table = imprint('pairing', 'claim-token', 'list', 'plant', '--data', data);
  assert.match(table.stdout, new RegExp(`${jti}\\s+1/3\\s+\\S+\\s+live\\s+SN-\\[0-9\\]\\+\\s+WO-42`));
  assert.ok(!table.stdout.includes(token.split('.')[2]));

  const revoked = imprint('pairing', 'claim-token', 'revoke', 'plant', jti, '--data', data);
  assert.equal(revoked.code, 0, revoked.stderr);
  const afterRevoke = device(
    '--token-file',
    join(dir, 'claim.jwt'),
    '--manufacturer-id',
    'SN-1002',
    '--credentials',
    join(dir, 'c3.json'),
  );
  assert.equal(afterRevoke.code, 1);
  assert.match(afterRevoke.stderr, /revoked/);
  const twice = imprint('pairing', 'claim-token', 'revoke', 'plant', jti, '--data', data);
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /already revoked/);

  // The core's chain lives in pairing.sqlite (read while serve runs: WAL readers do not block it).
  const db = new Database(join(data, 'pairing.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT body FROM core_audit_events ORDER BY seq').pluck().all() as string[];
    const events = rows.map(
      (b) => JSON.parse(b) as { station: string; step: string; outcome: string; errorCode?: string; operator?: string },
    );
    assert.ok(events.every((e) => e.station === 'pairing-core'));
    const steps = events.map((e) => `${e.step}:${e.errorCode ?? e.outcome}`);
    for (const s of [
      'claim-token-create:info',
      'claim:ok',
      'claim-refused:SERIAL_NOT_ALLOWED',
      'claim-token-revoke:info',
      'claim-refused:CLAIM_TOKEN_REVOKED',
    ])
      assert.ok(steps.includes(s), `${s} missing from ${steps.join(', ')}`);
    assert.equal(events.find((e) => e.step === 'claim-token-revoke')?.operator, 'it-admin');
  } finally {
    db.close();
  }
  const verified = imprint('pairing', 'store', 'verify-audit', '--data', data);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /core audit chain in .* OK: \d+ events/);
  // The command that verified the core's audit.db before verifies the chain where it now lives.
  const audit = imprint('audit', 'verify', '--data', data);
  assert.equal(audit.code, 0, audit.stderr);
  assert.match(audit.stdout, /pairing core audit chain in .*pairing\.sqlite OK: \d+ events verified/);
});

test('serve --sign-realm answers /sign; sign reopen of an unknown UUID is a one-line error; bad durations refused', async () => {
  const head = await fetch(`${url}/sign`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
  assert.equal(head.status, 204);
  const reopen = imprint('pairing', 'sign', 'reopen', 'plant', '3f0c9a50-0000-4000-8000-000000000000', '--data', data);
  assert.notEqual(reopen.code, 0);
  assert.match(reopen.stderr, /^imprint: SIGN_NOT_FOUND: No \/sign registration/);
  const bad = imprint('pairing', 'claim-token', 'create', 'plant', '--expires', 'forever', '--data', data);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--expires must look like 7d/);
  const noFactory = imprint('pairing', 'serve', '--data', data, '--port', '0', '--sign-realm', 'nosuch');
  assert.notEqual(noFactory.code, 0);
  assert.match(noFactory.stderr, /Unknown realm "nosuch"/);
});
