// "Reachable" is never stale. The station asks a remote pairing core whether it answers every 2 s,
// and before a settings change naming one is answered: a dead URL saved never shows "reachable"
// (the page records every text the status bar ever showed); a token the core refuses is not saved;
// a core that stops while the line is idle turns the page to PAIRING DOWN, and back when it answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { createRemoteRealm, freePort, RemoteProcess } from '../sync/remote-process.ts';
import { chromiumAvailable, launchBrowser, screenshot, unlockSettings } from './browser-harness.ts';
import { startTestStation, type TestStation, withTimeout } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';

/**
 * Every text the status bar's pairing part shows from now on, kept by the page itself (a script
 * string: it runs in the page, as it is).
 */
const RECORD_PAIRING_TEXTS = `(() => {
  const seen = [];
  globalThis.pairingTexts = seen;
  const note = () => {
    const t = document.querySelector('[data-testid="status-pairing"]')?.textContent;
    if (t && seen.at(-1) !== t) seen.push(t);
  };
  note();
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;
const recordPairingTexts = (page: Page) => page.evaluate(RECORD_PAIRING_TEXTS);
const pairingTexts = (page: Page) => page.evaluate(() => (globalThis as unknown as { pairingTexts: string[] }).pairingTexts);

async function bothSizes(page: Page, name: string): Promise<void> {
  await page.mouse.wheel(0, -10_000);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await screenshot(page, `${name}-1920`, { fold: true });
  await page.setViewportSize({ width: 1366, height: 768 });
  await screenshot(page, `${name}-1366`, { fold: true });
}

describe('pairing reachability as the page shows it', { skip }, () => {
  let st: TestStation;
  let remote: RemoteProcess;
  let browser: Browser;
  let page: Page;
  let keys: ReturnType<typeof makeAgentKeyPair>;
  const remoteDir = mkdtempSync(join(tmpdir(), 'imprint-reach-core-'));

  before(async () => {
    st = await startTestStation({ simulate: { fixtures: 2, faultRate: 0 } });
    keys = makeAgentKeyPair();
    await createRemoteRealm(remoteDir, (await st.mode.service.getSettings()).realm, keys.publicKeyPem);
    remote = new RemoteProcess(remoteDir, await freePort());
    await remote.start();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    await unlockSettings(page, st.adminPin);
  });
  after(async () => {
    await browser?.close();
    await st?.close();
    await remote?.kill();
    rmSync(remoteDir, { recursive: true, force: true });
  });

  async function saveRemote(url: string, token: string): Promise<string> {
    await page.locator('select[name=mode]').selectOption('remote');
    await page.locator('input[name=url]').fill(url);
    await page.locator('input[name=agentToken]').fill(token);
    const shown = await page.getByTestId('settings-message').count();
    const old = shown ? await page.getByTestId('settings-message').textContent() : undefined;
    await page.getByTestId('save-settings').click();
    // This save's answer (an earlier save's message may still show).
    const message = page.getByTestId('settings-message');
    await withTimeout(
      (async () => {
        while (!(await message.count()) || (await message.textContent()) === old) await new Promise((r) => setTimeout(r, 25));
      })(),
      30_000,
      'no answer to the save',
    );
    return (await page.getByTestId('settings-message').textContent()) ?? '';
  }

  test('a dead URL saved never shows "reachable": the answer and the status say the core does not answer', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await recordPairingTexts(page);
    const message = await saveRemote(dead, await mintAgentToken({ privateKey: keys.privateKeyPem }));
    assert.match(message, new RegExp(`saved and recorded, but the pairing core at ${dead} does not answer \\(ECONNREFUSED\\)`));
    await page.getByTestId('pairing-down').waitFor();
    assert.match((await page.getByTestId('status-pairing').textContent()) ?? '', /remote .* NOT reachable \(ECONNREFUSED\)/);
    const shown = (await pairingTexts(page)).filter((t) => t.includes(dead));
    assert.ok(shown.length > 0);
    assert.ok(
      shown.every((t) => !/— reachable/.test(t)),
      `the status bar never said reachable for the dead URL: ${JSON.stringify(shown)}`,
    );
    await bothSizes(page, 'settings-pairing-dead-url');
  });

  test('a token the core refuses is not saved: the settings stay as they were', async () => {
    const stranger = await mintAgentToken({ privateKey: makeAgentKeyPair().privateKeyPem });
    const message = await saveRemote(remote.url, stranger);
    assert.match(message, /refused the agent token/);
    assert.equal(await page.getByTestId('settings-message').getAttribute('role'), 'alert');
    const settings = await st.mode.service.getSettings();
    assert.notEqual(settings.pairing.url, remote.url, 'the refused settings were not saved');
    const refused = await st.mode.service.queryAuditPage({ step: 'settings-change', outcome: 'fail' });
    assert.ok(refused.events.some((e) => e.errorCode === 'REMOTE_TOKEN_REFUSED'));
  });

  test('a live core is reachable; when it stops with the line idle the page says PAIRING DOWN, and recovers', async () => {
    const message = await saveRemote(remote.url, await mintAgentToken({ privateKey: keys.privateKeyPem }));
    assert.match(message, /Settings saved and recorded in the audit trail/);
    await page.getByTestId('pairing-down').waitFor({ state: 'detached' });
    assert.match((await page.getByTestId('status-pairing').textContent()) ?? '', /— reachable/);

    await page.keyboard.press('F1');
    await remote.kill();
    // Nothing asks the core for a device (the line is stopped): only the station's own check sees it go.
    await page.getByTestId('pairing-down').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('pairing-down').textContent()) ?? '', /PAIRING DOWN — the pairing core does not answer/);
    assert.match((await page.getByTestId('status-pairing').textContent()) ?? '', /NOT reachable/);
    await bothSizes(page, 'operator-pairing-down');

    await remote.start();
    await page.getByTestId('pairing-down').waitFor({ state: 'detached', timeout: 30_000 });
    assert.match((await page.getByTestId('status-pairing').textContent()) ?? '', /— reachable/);
  });
});
