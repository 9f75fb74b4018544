// The desktop shell's bundles (main, preload) always build. The smoke test that launches the real app
// needs an Electron binary, which npm cannot download here: it lives in test-electron/ (`npm run test:electron`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildElectronShell } from '../../src/api/electron-launcher.ts';

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
});
