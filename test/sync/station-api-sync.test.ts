// The station API's sync status and "Sync now" (what the QA view's button calls), over web mode's
// HTTP transport, against a remote core on 127.0.0.1.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import { startWebMode } from '../../src/api/web-mode.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { servePairing } from '../../src/pairing/http/server.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { FileSecretStore } from '../../src/station/secret-store.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { openTestCore } from '../helpers/pairing-core.ts';
import { chromiumAvailable, launchBrowser, screenshot } from '../ui/browser-harness.ts';
import { enrolStation, makeStationData } from './sync-harness.ts';

const remote = await openTestCore({ realm: 'plant' });
const dirs: string[] = [];
after(async () => {
  await remote.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('station API: sync status, Sync now, conflicts listed with what to do', async () => {
  const server = await servePairing({ core: remote.core, host: '127.0.0.1', port: 0 });
  const ids = ['W-1', 'W-2', 'W-3'].map((s) => deriveDeviceId(s));
  const station = await makeStationData({ realm: 'plant', stationId: 'line-w', devices: ids });
  dirs.push(station.dir);
  const token = await mintAgentToken({ privateKey: remote.agentKeys.privateKeyPem });
  writeFileSync(
    join(station.dir, 'station.json'),
    JSON.stringify({
      ...defaultStationConfig(),
      stationId: 'line-w',
      realm: 'plant',
      pairing: { mode: 'remote-with-offline-fallback', url: server.url },
    }),
  );
  await new FileSecretStore(join(station.dir, 'secrets.json')).set('agentToken', token);
  await enrolStation({ url: server.url, realm: 'plant', token, dir: station.dir, stationId: 'line-w' });
  const online = new RemotePairingClient({ baseUrl: server.url, agentToken: token });
  await online.registerDevice('plant', ids[2]);
  await online.close();

  const mode = await startWebMode({
    dataDir: station.dir,
    port: 0,
    simulate: { fixtures: 1 },
    env: { IMPRINT_ADMIN_PIN: '482915' },
  });
  try {
    const client = new HttpStationClient({ baseUrl: mode.web.url, token: mode.web.token, openEvents: () => () => {} });
    const before = await client.syncStatus();
    assert.equal(before.remote, server.url);
    assert.equal(before.pendingDevices, 3);
    assert.equal(before.lastSync, undefined);
    await assert.rejects(client.sync(), { code: 'NOT_SIGNED_IN' });

    await client.signIn({ name: 'Quinn QA' });
    const after = await client.sync();
    assert.deepEqual(after.lastSync && [after.lastSync.imported, after.lastSync.conflicts], [2, 1]);
    // The conflict stays pending (it is re-evaluated each sync) and is listed with what to do.
    assert.equal(after.pendingDevices, 1);
    assert.ok((after.lastSync?.eventsSent ?? 0) >= 6);
    assert.deepEqual(
      after.conflicts.map((c) => [c.deviceId, c.reason]),
      [[ids[2], 'registered elsewhere with another secret']],
    );
    assert.match(after.advice, /imprint sync resolve DEVICE --keep station/);

    // The QA view (F2) shows the same, and its Sync now button runs a sync.
    if (!chromiumAvailable()) return;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(mode.web.openUrl);
      await page.keyboard.type('OP:Quinn QA\n');
      await page.getByTestId('nav-operator').getByText('Quinn QA').waitFor({ timeout: 15_000 });
      await page.keyboard.press('F2');
      const panel = page.getByTestId('sync-panel');
      await panel.getByText('To push: 1 offline registrations').waitFor({ timeout: 15_000 });
      await page.getByTestId('sync-conflicts').getByText(ids[2]).waitFor();
      await page.getByTestId('sync-now').click();
      await panel.getByText(/Last sync .* 0 imported, 0 already present, 1 conflicts/).waitFor({ timeout: 15_000 });
      await screenshot(page, 'sync-panel');
    } finally {
      await browser.close();
    }
  } finally {
    await mode.close();
    await server.close();
  }
});
