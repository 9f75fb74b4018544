// The UI knows when the station is gone. Web mode runs as a process of its own; the test kills it
// (-9) and freezes it (SIGSTOP), and reads the page's verdict on the page's own clock: the clock
// is paused, moved 3 s forward, and then the page must already say STATION OFFLINE. Restarting the
// station (same data and port: its session token is kept in the data folder, 0600) brings the page
// back without a reload; a restart with a new session token (`--new-token`) is refused with what
// to do, and the new address is taken without a reload.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { LIVENESS, WORST_CASE_DETECTION_MS } from '../../renderer/src/station-link.ts';
import { chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { type StationProcess, startStationProcess } from './station-process-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';
const BUDGET_MS = 3000;

const pageNow = (page: Page) => page.evaluate(() => Date.now());

/**
 * Stop the page's clock as close to now as it allows (it cannot be paused in the past), then let
 * exactly what is left of the budget since `t0` pass on it. Whatever the page shows afterwards,
 * it showed within the budget of page time, however slow this machine is.
 */
async function spendBudgetSince(page: Page, t0: number): Promise<void> {
  for (let ahead = 5; ; ahead *= 2) {
    try {
      await page.clock.pauseAt((await pageNow(page)) + ahead);
      break;
    } catch (e) {
      if (!/past/.test(String(e)) || ahead > 5000) throw e;
    }
  }
  const spent = (await pageNow(page)) - t0;
  if (spent < BUDGET_MS) await page.clock.runFor(BUDGET_MS - spent);
}

/** When the page declared the station offline, on its own clock. */
async function offlineSince(page: Page): Promise<number> {
  return Number(await page.getByTestId('station-offline').getAttribute('data-since'));
}

/** The page was never reloaded: a mark set on its window survives. */
const markPage = (page: Page) => page.evaluate(() => Object.assign(globalThis, { imprintNoReload: 'still here' }));
const stillSamePage = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { imprintNoReload?: string }).imprintNoReload === 'still here');

describe('a station that goes away, as the page sees it', { skip }, () => {
  const data = mkdtempSync(join(tmpdir(), 'imprint-liveness-'));
  let station: StationProcess | undefined;
  let port = 0;
  let token = '';
  let browser: Browser;
  let page: Page;

  before(async () => {
    station = await startStationProcess({ data });
    port = station.port;
    token = station.token;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    // The page's timers run on a clock the test can pause and move.
    await page.clock.install();
    await page.goto(`http://127.0.0.1:${port}/#token=${token}`);
    await page.getByTestId('counters').waitFor({ timeout: 60_000 });
    await page.keyboard.type('OP:Lee Live\n');
    await page.keyboard.type('WO:WO-LIVE\n');
    await page.getByTestId('start-line').click({ timeout: 30_000 });
    await page.getByText('✔ PASS', { exact: true }).first().waitFor({ timeout: 60_000 });
    await markPage(page);
  });
  after(async () => {
    await browser?.close();
    if (station?.child.exitCode === null) await station.kill();
    rmSync(data, { recursive: true, force: true });
  });

  test('the detection budget of the page is under 3 s by construction', () => {
    assert.ok(WORST_CASE_DETECTION_MS < BUDGET_MS, `${WORST_CASE_DETECTION_MS} ms`);
    assert.ok(LIVENESS.streamGraceMs < BUDGET_MS);
  });

  test('killed with -9: STATION OFFLINE within 3 s of page time, cards greyed, and the line is not "running"', async () => {
    const t0 = await pageNow(page);
    await station?.kill();
    await spendBudgetSince(page, t0);
    // The clock stays paused from here: whatever the page shows now, it showed within 3 s.
    const banner = page.getByTestId('station-offline');
    await banner.waitFor({ timeout: 30_000 });
    const detectedAfter = (await offlineSince(page)) - t0;
    console.log(`# killed station: OFFLINE after ${detectedAfter} ms of page time`);
    assert.ok(detectedAfter <= BUDGET_MS, `${detectedAfter} ms`);
    assert.match((await banner.textContent()) ?? '', /STATION OFFLINE/);
    assert.equal(await page.getByTestId('station-offline').count(), 1, 'one state for the whole station');
    assert.equal(await page.locator('.app-offline').count(), 1, 'the cards are greyed');
    assert.match((await page.getByTestId('status-line').textContent()) ?? '', /OFFLINE \(last known: running\)/);
    assert.equal(await page.getByTestId('stop-line').isDisabled(), true, 'no action is offered against a dead station');
    await screenshot(page, 'liveness-offline-1366x768');
  });

  test('restarted on the same data and port: the kept session token lets the page recover by itself, without a reload', async () => {
    await page.clock.resume();
    assert.equal(statSync(join(data, 'web-session.json')).mode & 0o777, 0o600, 'the kept token is private');
    station = await startStationProcess({ data, port });
    assert.equal(station.token, token, 'the same token after a restart');
    await page.getByTestId('station-offline').waitFor({ state: 'detached', timeout: 60_000 });
    assert.ok(await stillSamePage(page), 'no reload');
    // A fresh snapshot from the new process: the batch opened before the kill is still open.
    await page.getByTestId('status-bar').getByText('Batch: WO-LIVE').waitFor({ timeout: 30_000 });
    assert.match(
      (await page.getByTestId('status-line').textContent()) ?? '',
      /Line: stopped/,
      'a restarted station does not run on its own',
    );
  });

  test('frozen (SIGSTOP), with its connections open: STATION OFFLINE within 3 s of page time, back on SIGCONT', async () => {
    // Heard from just now, then frozen: the page has only its probes to go by.
    await page.getByTestId('counters').waitFor();
    const t0 = await pageNow(page);
    station?.child.kill('SIGSTOP');
    try {
      await spendBudgetSince(page, t0);
      await page.getByTestId('station-offline').waitFor({ timeout: 30_000 });
      assert.match((await page.getByTestId('station-offline').textContent()) ?? '', /does not answer/);
      const detectedAfter = (await offlineSince(page)) - t0;
      console.log(`# frozen station: OFFLINE after ${detectedAfter} ms of page time`);
      assert.ok(detectedAfter <= BUDGET_MS, `${detectedAfter} ms`);
    } finally {
      station?.child.kill('SIGCONT');
      await page.clock.resume();
    }
    await page.getByTestId('station-offline').waitFor({ state: 'detached', timeout: 60_000 });
    assert.ok(await stillSamePage(page), 'no reload');
  });

  test('restarted with a new session token: the page says exactly what to do, and takes the new address', async () => {
    await station?.kill();
    station = await startStationProcess({ data, port, newToken: true });
    const newToken = station.token;
    assert.notEqual(newToken, token, '--new-token replaced the kept token');
    const refused = page.getByTestId('session-refused');
    await refused.waitFor({ timeout: 60_000 });
    const text = (await refused.textContent()) ?? '';
    assert.match(text, /SESSION TOKEN REFUSED/);
    assert.match(text, /replaced \(imprint web --new-token\)/);
    assert.match(text, /Open the address the station printed/);
    await screenshot(page, 'liveness-token-refused-1366x768');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await screenshot(page, 'liveness-token-refused-1920x1080');
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.getByTestId('session-address').fill(`http://127.0.0.1:${port}/#token=${newToken}`);
    await page.getByTestId('session-address').press('Enter');
    await refused.waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByTestId('status-bar').getByText('Batch: WO-LIVE').waitFor({ timeout: 30_000 });
    assert.ok(await stillSamePage(page), 'no reload');
  });
});
