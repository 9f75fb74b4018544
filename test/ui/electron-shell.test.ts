// The desktop shell. Its bundles (main, preload) always build; the smoke test launches the real app
// with playwright-core's _electron only where an Electron binary exists, and says why when not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { _electron } from 'playwright-core';
import { buildElectronShell, findElectronBinary } from '../../src/api/electron-launcher.ts';
import { ensureRendererBuilt } from '../../src/api/renderer-build.ts';
import { screenshot } from './browser-harness.ts';

const electron = findElectronBinary();
const smokeSkip = 'path' in electron ? false : `no Electron binary here (${electron.missing})`;
if (smokeSkip) console.log(`# Electron smoke test skipped: ${smokeSkip}`);

describe('Electron shell', () => {
  test('main and preload bundle to CommonJS, with the sandboxed, isolated window settings', async () => {
    const dist = await buildElectronShell();
    const main = readFileSync(join(dist, 'main.cjs'), 'utf8');
    const preload = readFileSync(join(dist, 'preload.cjs'), 'utf8');
    assert.match(main, /require\("electron"\)/);
    assert.match(main, /contextIsolation: true/);
    assert.match(main, /sandbox: true/);
    assert.match(main, /nodeIntegration: false/);
    assert.match(main, /setWindowOpenHandler/);
    // A sandboxed preload may require nothing but electron: everything else is bundled in.
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(requires)], ['electron']);
    assert.match(preload, /exposeInMainWorld\("imprint"/);
  });

  test('smoke: the app opens on a simulated line and shows the operator view', { skip: smokeSkip }, async () => {
    if (!('path' in electron)) return;
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
