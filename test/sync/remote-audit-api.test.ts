// The QA view pointed at a remote: the station API's queryRemoteAudit (web mode's HTTP transport)
// searches the central audit of a real remote `imprint pairing serve` after a sync, and the QA
// view's scope switch shows the remote's events of every station.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import { startWebMode } from '../../src/api/web-mode.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { FileSecretStore } from '../../src/station/secret-store.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { SyncClient } from '../../src/sync/sync-client.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { chromiumAvailable, launchBrowser, screenshot } from '../ui/browser-harness.ts';
import { createRemoteRealm, freePort, RemoteProcess } from './remote-process.ts';
import { enrolStation, makeStationData, tempDir } from './sync-harness.ts';

const REALM = 'plant';
const dirs: string[] = [];
const remotes: RemoteProcess[] = [];
after(async () => {
  for (const r of remotes) await r.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeStation(dir: string, stationId: string, url?: string): void {
  const pairing = url ? { mode: 'remote-with-offline-fallback', url } : { mode: 'embedded' };
  writeFileSync(join(dir, 'station.json'), JSON.stringify({ ...defaultStationConfig(), stationId, realm: REALM, pairing }));
}

/** A remote core with the realm, started (stopped after the tests), and an agent token for it. */
async function startRemoteCore(prefix: string): Promise<{ remote: RemoteProcess; token: string }> {
  const keys = makeAgentKeyPair();
  const remoteDir = tempDir(prefix);
  dirs.push(remoteDir);
  await createRemoteRealm(remoteDir, REALM, keys.publicKeyPem);
  const remote = new RemoteProcess(remoteDir, await freePort());
  remotes.push(remote);
  await remote.start();
  return { remote, token: await mintAgentToken({ privateKey: keys.privateKeyPem }) };
}

test('queryRemoteAudit: every station on the remote core, same filters; clear errors; the QA view scope switch', {
  timeout: 180_000,
}, async () => {
  const { remote, token } = await startRemoteCore('imprint-remote-audit-core-');

  // Another station synced earlier: its events exist only on the remote core.
  const other = await makeStationData({ realm: REALM, stationId: 'line-x', devices: [deriveDeviceId('X-1')] });
  dirs.push(other.dir);
  await enrolStation({ url: remote.url, realm: REALM, token, dir: other.dir, stationId: 'line-x' });
  await new SyncClient({ dataDir: other.dir, remoteUrl: remote.url, agentToken: token, realm: REALM, stationId: 'line-x' }).run();

  // This station, pointed at the remote, syncs through the station API.
  const mine = await makeStationData({
    realm: REALM,
    stationId: 'line-r',
    devices: ['R-1', 'R-2'].map((s) => deriveDeviceId(s)),
  });
  dirs.push(mine.dir);
  await enrolStation({ url: remote.url, realm: REALM, token, dir: mine.dir, stationId: 'line-r' });
  writeStation(mine.dir, 'line-r', remote.url);
  await new FileSecretStore(join(mine.dir, 'secrets.json')).set('agentToken', token);
  // A station with no remote configured.
  const detached = await makeStationData({ realm: REALM, stationId: 'line-d', devices: [] });
  dirs.push(detached.dir);
  writeStation(detached.dir, 'line-d');

  const env = { IMPRINT_ADMIN_PIN: '482915' };
  const mode = await startWebMode({ dataDir: mine.dir, port: 0, simulate: { fixtures: 1 }, env });
  const detachedMode = await startWebMode({ dataDir: detached.dir, port: 0, simulate: { fixtures: 1 }, env });
  try {
    const client = new HttpStationClient({ baseUrl: mode.web.url, token: mode.web.token, openEvents: () => () => {} });
    await client.signIn({ name: 'Quinn QA' });
    await client.sync();

    const all = await client.queryRemoteAudit({});
    assert.deepEqual([...new Set(all.map((e) => e.station))].sort(), ['line-r', 'line-x']);
    const records = await client.queryRemoteAudit({ station: 'line-x', step: 'record', outcome: 'ok' });
    assert.deepEqual(
      records.map((e) => [e.station, e.deviceId]),
      [['line-x', deriveDeviceId('X-1')]],
    );
    const byDevice = await client.queryRemoteAudit({ deviceId: deriveDeviceId('R-2') });
    assert.deepEqual(byDevice.map((e) => e.step).sort(), ['record', 'register']);
    // The local scope holds this station's events only.
    assert.ok((await client.queryAudit({})).every((e) => e.station === 'line-r'));
    await assert.rejects(client.queryRemoteAudit({ outcome: 'maybe' } as never), { code: 'VALIDATION' });
    // The agent token never reaches the UI: not in settings, not in any answer.
    assert.ok(!JSON.stringify(await client.getSettings()).includes(token));

    const detachedClient = new HttpStationClient({
      baseUrl: detachedMode.web.url,
      token: detachedMode.web.token,
      openEvents: () => () => {},
    });
    await assert.rejects(detachedClient.queryRemoteAudit({}), { code: 'NO_REMOTE', message: /No remote pairing core/ });

    if (chromiumAvailable()) {
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        await page.goto(mode.web.openUrl);
        await page.keyboard.type('OP:Quinn QA\n');
        await page.getByTestId('nav-operator').getByText('Quinn QA').waitFor({ timeout: 15_000 });
        await page.keyboard.press('F2');
        const results = page.getByTestId('audit-results');
        await results.waitFor({ timeout: 15_000 });
        assert.equal(await results.getByText('line-x').count(), 0);
        await page.getByLabel('All stations (remote core)').check();
        await results.getByRole('columnheader', { name: 'Station' }).waitFor({ timeout: 15_000 });
        await results.getByText('line-x').first().waitFor({ timeout: 15_000 });
        await page.getByText(/from the remote core/).waitFor();
        // Same filters, plus the station: only line-x's events.
        await page.locator('input[name="station"]').fill('line-x');
        await page.getByRole('button', { name: 'Search' }).click();
        await results.locator('tbody tr').first().waitFor();
        // line-x has 2 events on the remote (register, record); line-r's rows go away.
        await page.getByText('Events 1–2 of 2 from the remote core').waitFor({ timeout: 15_000 });
        assert.equal(await results.locator('tbody tr').filter({ hasNotText: 'line-x' }).count(), 0);
        await screenshot(page, 'qa-remote-scope');

        // The remote goes away: a clear message, no stale rows.
        await remote.kill();
        await page.getByRole('button', { name: 'Search' }).click();
        await page
          .getByRole('alert')
          .getByText(/did not answer/)
          .waitFor({ timeout: 30_000 });
        assert.equal(await results.count(), 0);
        await page.getByLabel('This station').check();
        await results.locator('tbody tr').first().waitFor({ timeout: 15_000 });
        assert.equal(await results.getByRole('columnheader', { name: 'Station' }).count(), 0);
        // The search's alert is gone; the core being down is the station's own PAIRING DOWN state.
        assert.equal(await page.getByRole('alert').filter({ hasNotText: 'PAIRING DOWN' }).count(), 0);
      } finally {
        await browser.close();
      }
    } else {
      await remote.kill();
    }
    await assert.rejects(client.queryRemoteAudit({}), { code: 'SYNC_UNREACHABLE', message: /did not answer/ });
  } finally {
    await detachedMode.close();
    await mode.close();
  }
});

test("QA pages through the remote core's central audit past 500 events, newer and older", { timeout: 240_000 }, async (t) => {
  if (!chromiumAvailable()) return t.skip('no Chromium');
  const { remote, token } = await startRemoteCore('imprint-remote-audit-pages-');
  // 310 devices, 2 events each: 620 events on the remote, more than the 500 the view used to stop at.
  const serials = Array.from({ length: 310 }, (_, i) => `P-${i}`);
  const mine = await makeStationData({ realm: REALM, stationId: 'line-p', devices: serials.map((s) => deriveDeviceId(s)) });
  dirs.push(mine.dir);
  await enrolStation({ url: remote.url, realm: REALM, token, dir: mine.dir, stationId: 'line-p' });
  writeStation(mine.dir, 'line-p', remote.url);
  await new FileSecretStore(join(mine.dir, 'secrets.json')).set('agentToken', token);
  const mode = await startWebMode({
    dataDir: mine.dir,
    port: 0,
    simulate: { fixtures: 1 },
    env: { IMPRINT_ADMIN_PIN: '482915' },
  });
  const browser = await launchBrowser();
  try {
    const client = new HttpStationClient({ baseUrl: mode.web.url, token: mode.web.token, openEvents: () => () => {} });
    await client.signIn({ name: 'Quinn QA' });
    await client.sync();
    const remoteEvents = (await client.queryRemoteAudit({ station: 'line-p', limit: 5000 })).length;
    assert.ok(remoteEvents > 620, `${remoteEvents} events on the remote`);
    // A cursor the core did not give is refused with a sentence, not read as a place in the order.
    await assert.rejects(client.queryRemoteAuditPage({ cursor: Buffer.from('[1,2]').toString('base64url') }), {
      code: 'REMOTE_QUERY_FAILED',
      message: /cursor is not one this core gave/,
    });

    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(mode.web.openUrl);
    await page.keyboard.type('OP:Quinn QA\n');
    await page.getByTestId('nav-operator').getByText('Quinn QA').waitFor({ timeout: 15_000 });
    await page.keyboard.press('F2');
    await page.getByLabel('All stations (remote core)').check();
    await page.locator('input[name="station"]').fill('line-p');
    await page.getByRole('button', { name: 'Search' }).click();
    const range = page.getByTestId('audit-range');
    await range.getByText('Events 1–100 of more than 100 from the remote core').waitFor({ timeout: 15_000 });
    const seen = new Set<string>();
    const rowsOf = async () => (await page.getByTestId('audit-results').locator('tbody tr').allInnerTexts()).join('\n');
    let pages = 1;
    seen.add(await rowsOf());
    while (await page.getByTestId('page-next').isEnabled()) {
      await page.getByTestId('page-next').click();
      pages++;
      await range
        .getByText(new RegExp(`^Events ${((pages - 1) * 100 + 1).toLocaleString('en-US')}–`))
        .waitFor({ timeout: 15_000 });
      seen.add(await rowsOf());
      if (pages === 6) {
        await range.getByText('Events 501–600 of more than 600 from the remote core').waitFor();
        await screenshot(page, 'qa-remote-pages-1366x768', { fold: true });
        await page.setViewportSize({ width: 1920, height: 1080 });
        await screenshot(page, 'qa-remote-pages-1920x1080', { fold: true });
      }
    }
    const last = remoteEvents % 100 || 100;
    const first = (pages - 1) * 100 + 1;
    await range.getByText(`Events ${first}–${first + last - 1} of ${remoteEvents} from the remote core`).waitFor();
    assert.equal(pages, Math.ceil(remoteEvents / 100));
    assert.equal(seen.size, pages, 'every page shows other events');
    // Back one page: the same rows as before.
    await page.getByTestId('page-previous').click();
    await range.getByText(`Events ${first - 100}–${first - 1} of more than ${first - 1} from the remote core`).waitFor();
  } finally {
    await browser.close();
    await mode.close();
  }
});
