// `npm start` where there is no Electron binary: one line says so, then web mode starts on a
// simulated line and prints the URL with its token; the API answers with that token only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findElectronBinary } from '../../src/api/electron-launcher.ts';
import { withTimeout } from './station-harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('imprint start falls back to web mode with one line, prints the URL with its token and a first-run PIN', {
  skip: 'path' in findElectronBinary() ? 'an Electron binary exists here: start opens the desktop app' : false,
}, async () => {
  const data = mkdtempSync(join(tmpdir(), 'imprint-start-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'imprint.mjs'), 'start', '--data', data, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, IMPRINT_ADMIN_PIN: '', IMPRINT_DATA: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  try {
    const url = await withTimeout(
      new Promise<string>((resolve) => {
        child.stdout.on('data', () => {
          const m = /Open: (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(out);
          if (m) resolve(m[1]);
        });
      }),
      90_000,
      'no URL printed',
    );
    const lines = out.split('\n');
    assert.equal(lines.filter((l) => /Electron is not available/.test(l)).length, 1, 'one line about Electron');
    assert.match(out, /admin PIN is \d{6}/);
    assert.match(out, /SIMULATED/);
    const [base, token] = url.split('/#token=');
    assert.equal((await fetch(`${base}/api/status`)).status, 401);
    const status = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { simulated: boolean }).simulated, true);
  } finally {
    child.kill('SIGTERM');
    await withTimeout(new Promise((r) => child.once('exit', r)), 20_000, 'imprint start did not stop on SIGTERM').catch(() =>
      child.kill('SIGKILL'),
    );
    rmSync(data, { recursive: true, force: true });
  }
});
