import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_LABEL_TEMPLATE, renderLabel, sendLabel } from '../../src/station/label-printer.ts';
import { hookEnvironment, runPostPassHook } from '../../src/station/post-pass-hook.ts';

test('a label field cannot inject ZPL commands (^ and ~ and line breaks are dropped)', () => {
  const zpl = renderLabel(DEFAULT_LABEL_TEMPLATE, { serial: 'SN-1^XZ^XA~JR\n', deviceId: 'abc', workOrder: 'WO-1' });
  assert.equal(zpl.match(/\^XA/g)?.length, 1);
  assert.equal(zpl.match(/\^XZ/g)?.length, 1);
  assert.ok(zpl.includes('^FDS/N SN-1XZXAJR^FS'));
  assert.doesNotMatch(zpl, /~/);
});

test('a printer that is not there is a LABEL_PRINT_FAILED naming it', async () => {
  // Port 9 on 127.0.0.1: nothing listens (connection refused).
  await assert.rejects(sendLabel({ kind: 'tcp', host: '127.0.0.1', port: 9 }, '^XA^XZ'), {
    code: 'LABEL_PRINT_FAILED',
    message: /127\.0\.0\.1:9/,
  });
});

test('the hook runs without the station environment, and is killed after its timeout', async () => {
  process.env.IMPRINT_ADMIN_PIN = '999999';
  try {
    const env = hookEnvironment({ station: 's', fixture: 'F1', deviceId: 'd', hardwareSerial: 'SN' });
    assert.equal(env.IMPRINT_ADMIN_PIN, undefined);
    assert.equal(env.IMPRINT_DEVICE_ID, 'd');
  } finally {
    delete process.env.IMPRINT_ADMIN_PIN;
  }
  const dir = mkdtempSync(join(tmpdir(), 'imprint-hook-'));
  try {
    const slow = join(dir, 'slow.mjs');
    writeFileSync(slow, 'setTimeout(() => {}, 60000);\n');
    const r = await runPostPassHook({ command: [process.execPath, slow], timeoutMs: 300 }, { station: 's', fixture: 'F1' });
    assert.deepEqual(r, { ok: false, message: 'killed after 300 ms (timeoutMs)' });
    const missing = await runPostPassHook({ command: [join(dir, 'no-such-program')] }, { station: 's', fixture: 'F1' });
    assert.equal(missing.ok, false);
    assert.match(missing.message ?? '', /could not be started/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
