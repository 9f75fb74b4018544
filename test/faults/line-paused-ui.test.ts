// The paused line as the operator and a script see it: the station API's status carries one
// `linePause` (over web mode's HTTP transport), and the operator view shows one banner with what
// to do and "Retry now"; when the fault clears the banner goes and devices PASS again.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import { startWebMode } from '../../src/api/web-mode.ts';
import { ImprintError } from '../../src/common/errors.ts';
import { chromiumAvailable, launchBrowser, screenshot } from '../ui/browser-harness.ts';
import { tempDir } from './fault-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a full disk: one linePause in the API, one banner in the operator view, gone when the disk has room again', async () => {
  const data = tempDir('imprint-pause-ui-');
  dirs.push(data);
  const mode = await startWebMode({
    dataDir: data,
    port: 0,
    simulate: { fixtures: 2, swapDelayMs: 200 },
    env: { IMPRINT_ADMIN_PIN: '482915' },
  });
  let full = false;
  const station = mode.service.current;
  const append = station.audit.append.bind(station.audit);
  station.audit.append = (e) =>
    full
      ? Promise.reject(
          new ImprintError('AUDIT_WRITE_FAILED', 'audit trail write failed', {
            cause: new Database.SqliteError('database or disk is full', 'SQLITE_FULL'),
          }),
        )
      : append(e);
  const client = new HttpStationClient({ baseUrl: mode.web.url, token: mode.web.token, openEvents: () => () => {} });
  const browser = chromiumAvailable() ? await launchBrowser() : undefined;
  try {
    if (!browser) {
      // No browser here: the API side still proves the state.
      await client.signIn({ name: 'Ann' });
      full = true; // the disk fills once the operator is signed in
      await client.start();
      while (!(await client.getStatus()).linePause) await new Promise((r) => setTimeout(r, 50));
    } else {
      const page = await browser.newPage();
      await page.goto(mode.web.openUrl);
      await page.getByTestId('simulated-banner').waitFor();
      await page.locator('#scan-field').focus();
      await page.keyboard.type('OP:Ann\n');
      await page.getByTestId('nav-operator').getByText('Ann').waitFor({ timeout: 15_000 });
      await page.keyboard.type('WO:WO-PAUSE\n'); // the line starts with a batch open
      await page.getByText('Batch WO-PAUSE is open.').waitFor({ timeout: 15_000 });
      full = true; // the disk fills once the operator is signed in
      await page.getByTestId('start-line').click();
      const banner = page.getByTestId('line-paused');
      await banner.waitFor({ timeout: 30_000 });
      assert.match((await banner.textContent()) ?? '', /LINE PAUSED — Station storage full/);
      assert.match((await banner.textContent()) ?? '', /Free disk space/);
      assert.equal(await page.getByTestId('line-paused').count(), 1, 'one banner for the whole line');
      await screenshot(page, 'operator-line-paused');
      full = false;
      // "Retry now"; the station also retries by itself, so the banner may already be going: the
      // click is best-effort, the banner leaving is what is asserted.
      await page
        .getByTestId('line-retry')
        .click({ timeout: 10_000 })
        .catch(() => {});
      await banner.waitFor({ state: 'detached', timeout: 60_000 });
      // A fixture card's big PASS (exact: the counters' "Passed" label is not one).
      await page.getByText('✔ PASS', { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    const paused = browser ? undefined : await client.getStatus();
    if (paused) {
      assert.equal(paused.linePause?.code, 'STATION_STORAGE_FULL');
      assert.match(paused.linePause?.action ?? '', /Free disk space/);
      full = false;
      await client.start(); // Start line on a paused line: retry now
      while ((await client.getStatus()).counters.passed < 1) await new Promise((r) => setTimeout(r, 50));
    }
    const status = await client.getStatus();
    assert.equal(status.linePause, undefined);
    assert.equal(status.counters.failed, 0, 'no device failed for the full disk');
    assert.ok(status.counters.passed >= 1);
  } finally {
    await browser?.close();
    await mode.close();
  }
});
