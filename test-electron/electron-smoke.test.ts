// The desktop app for real: playwright-core's _electron launches the Electron binary on a simulated line.
// Not part of `npm test`: the Electron binary cannot be downloaded on the build machines. Run it with
// `npm run test:electron` where Electron is installed; without a binary it FAILS (it never skips).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { _electron } from 'playwright-core';
import { buildElectronShell, findElectronBinary } from '../src/api/electron-launcher.ts';
import { ensureRendererBuilt } from '../src/api/renderer-build.ts';
import { screenshot } from '../test/ui/browser-harness.ts';

const electron = findElectronBinary();

describe('Electron app', () => {
  test('smoke: the app opens on a simulated line and shows the operator view', async () => {
    assert.ok('path' in electron, `no Electron binary: ${'missing' in electron ? electron.missing : ''}`);
    await ensureRendererBuilt();
    const dist = await buildElectronShell();
    const data = mkdtempSync(join(tmpdir(), 'imprint-electron-'));
    const app = await _electron.launch({
      executablePath: electron.path,
      args: [join(dist, 'main.cjs'), '--no-sandbox'],
      env: { ...process.env, IMPRINT_DATA: data, IMPRINT_NODE: process.execPath, IMPRINT_ADMIN_PIN: '482915' },
      timeout: 60_000,
    });
    try {
      const win = await app.firstWindow();
      await win.getByTestId('simulated-banner').waitFor({ timeout: 60_000 });
      assert.equal(await win.evaluate(() => typeof (globalThis as unknown as { imprint?: unknown }).imprint), 'object');
      assert.equal(await win.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require), 'undefined');
      await screenshot(win, 'electron-operator');
    } finally {
      await app.close();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
