// End to end in a real browser (Debian Chromium via playwright-core) against web mode on the real
// station with a simulated line: sign in, open a batch, PASS and FAIL on the operator view, search
// the trail, export CSV, the batch report, and settings for admins only. Screenshots of every view
// go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS_DIR, chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';
if (skip) console.log(`# web UI tests skipped: ${skip}`);

/** RFC 4180 enough for our export: quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

/** Wait until the scan field has the focus (the root tsconfig has no DOM types: this runs in the page). */
async function scanFieldFocused(page: Page): Promise<boolean> {
  const focused = () =>
    (globalThis as unknown as { document: { activeElement?: { id: string } } }).document.activeElement?.id === 'scan-field';
  return page.waitForFunction(focused, undefined, { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
}

describe('the Imprint UI in a browser', { skip }, () => {
  let st: TestStation;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let batchId = '';
  let failedSerial = '';

  before(async () => {
    // Half the simulated devices come with a swapped label: FAILs show up quickly, next to PASSes.
    st = await startTestStation({
      simulate: { fixtures: 2, seed: 11, faultRate: 0.5, faults: ['label-swap'], swapDelayMs: 1500 },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    // Count the oscillators the page starts: each PASS/FAIL cue plays through WebAudio.
    await context.addInitScript(() => {
      const g = globalThis as unknown as {
        AudioContext: { prototype: { createOscillator: () => unknown } };
        imprintTones?: number;
      };
      const create = g.AudioContext.prototype.createOscillator;
      g.AudioContext.prototype.createOscillator = function (this: unknown) {
        g.imprintTones = (g.imprintTones ?? 0) + 1;
        return create.call(this);
      };
    });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      // Refused calls (a wrong PIN, a scan with no fixture waiting) are expected and shown in the UI.
      if (m.type() === 'error' && !/^Failed to load resource: .* (400|403|409)/.test(m.text())) pageErrors.push(m.text());
    });
  });
  after(async () => {
    await browser?.close();
    await st?.close();
  });

  test('without the session token the page cannot reach the station, and the API answers 401', async () => {
    const stranger = await browser.newPage();
    try {
      await stranger.goto(`${st.web.url}/`);
      await stranger.getByRole('alert').getByText('This page has no session token').waitFor({ timeout: 15_000 });
      await screenshot(stranger, '00-no-token');
      const res = await stranger.request.get(`${st.web.url}/api/status`);
      assert.equal(res.status(), 401);
    } finally {
      await stranger.close();
    }
  });

  test('the operator signs in by badge scan with the keyboard only, under a SIMULATED banner', async () => {
    await page.goto(st.web.openUrl);
    await page.getByTestId('simulated-banner').waitFor();
    assert.doesNotMatch(page.url(), /token=/, 'the token leaves the address bar');
    assert.ok(await scanFieldFocused(page), 'the scan field has the focus');
    await screenshot(page, '01-operator-sign-in');
    // A keyboard-wedge scanner types the badge then Enter.
    await page.keyboard.type('OP:Alice Martin\n');
    await page.getByTestId('nav-operator').getByText('Alice Martin (operator)').waitFor();
    // A click somewhere on the page does not lose the scan field.
    await page.getByTestId('counters').click();
    assert.ok(await scanFieldFocused(page), 'the scan field takes the focus back');
  });

  test('a batch is opened with a work order from the Batches view', async () => {
    await page.keyboard.press('F3');
    await page.getByTestId('work-order').fill('WO-2026-0042');
    await page.keyboard.press('Enter');
    const current = page.getByTestId('current-batch');
    await current.getByText('Open batch: WO-2026-0042').waitFor();
    batchId = (await current.locator('.mono').first().textContent()) ?? '';
    assert.ok(batchId.length > 0);
    await screenshot(page, '02-batches');
  });

  test('the simulated line runs devices to PASS, and a FAIL shows its message and what to do', async () => {
    await page.keyboard.press('F1');
    await page.getByTestId('start-line').click();
    await page.locator('.fixture-pass').first().waitFor({ timeout: 60_000 });
    const fail = page.locator('.fixture-fail').filter({ hasText: 'LABEL_MISMATCH' }).first();
    await fail.waitFor({ timeout: 60_000 });
    // Stop the line while the FAIL is on screen (a confirmed action): the card keeps the last device.
    await page.getByTestId('stop-line').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('start-line').waitFor({ timeout: 30_000 });
    const card = page.locator('.fixture-fail').filter({ hasText: 'LABEL_MISMATCH' }).first();
    const text = (await card.textContent()) ?? '';
    assert.match(text, /FAIL/);
    assert.match(text, /does not match the serial/);
    assert.match(text, /What to do:.*Set the device aside/);
    // A swapped label fails before any device id is made: the card shows the serial the device reported.
    failedSerial = (await card.locator('dd.mono').nth(1).textContent()) ?? '';
    assert.match(failedSerial, /^SIM-/, 'the failed card shows the hardware serial');
    const counters = await page.getByTestId('counters').textContent();
    assert.match(counters ?? '', /Passed/);
    const passed = Number(await page.locator('.counter-pass .counter-value').textContent());
    const failed = Number(await page.locator('.counter-fail .counter-value').textContent());
    assert.ok(passed >= 1 && failed >= 1, `counters show passes (${passed}) and failures (${failed})`);
    const tones = await page.evaluate(() => (globalThis as unknown as { imprintTones?: number }).imprintTones ?? 0);
    assert.ok(tones > 0, 'PASS/FAIL cues were played');
    await screenshot(page, '03-operator-pass-fail');
  });

  test('a label scanned while no fixture waits for one gets a clear message', async () => {
    await page.keyboard.type('SN-LOOSE-LABEL\n');
    const msg = page.getByTestId('operator-message');
    await msg.waitFor();
    // Which sentence depends on whether the line is still running when the label arrives; both say why.
    assert.match((await msg.textContent()) ?? '', /No fixture is waiting for a scan|The line is stopped/);
  });

  test('QA searches the trail for the failed device by serial, sees the chain verified and the event detail', async () => {
    await page.keyboard.press('F2');
    await page.getByTestId('chain-status').getByText('Audit trail verified').waitFor();
    await page.locator('input[name=hardwareSerial]').fill(failedSerial);
    await page.locator('input[name=hardwareSerial]').press('Enter');
    const rows = page.getByTestId('audit-results').locator('tbody tr');
    // The view lists the newest events before the search answers: wait for the search's rows.
    let texts: string[] = [];
    for (let i = 0; i < 100; i++) {
      texts = await rows.allTextContents();
      if (texts.length > 0 && texts.every((t) => t.includes(failedSerial))) break;
      await page.waitForTimeout(100);
    }
    assert.ok(texts.length >= 1, 'the device has events');
    assert.ok(
      texts.every((t) => t.includes(failedSerial)),
      'every row is about that device',
    );
    assert.ok(texts.some((t) => t.includes('LABEL_MISMATCH')));
    await rows.filter({ hasText: 'LABEL_MISMATCH' }).first().click();
    const detail = page.getByTestId('event-detail');
    await detail.getByText('Secret fingerprint').or(detail.getByText('Hash')).first().waitFor();
    assert.match((await detail.textContent()) ?? '', /cross-check|LABEL_MISMATCH/);
    await screenshot(page, '04-qa-search');
  });

  test('the batch exports as CSV whose rows are the batch events', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('select[name=batchId]').selectOption(batchId);
    await page.getByRole('button', { name: 'Search' }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const file = join(ARTIFACTS_DIR, 'batch-export.csv');
    await download.saveAs(file);
    // The signed header and trailer records (docs/audit-trail.md) carry `header`/`trailer` in seq.
    const rows = parseCsv(readFileSync(file, 'utf8')).filter((r) => r.seq !== 'header' && r.seq !== 'trailer');
    assert.ok(rows.length > 3, 'rows for the batch');
    assert.ok(
      rows.every((r) => /^\d+$/.test(r.seq) && r.hash.length === 64),
      'each row has its seq and hash',
    );
    const failRow = rows.find((r) => r.hardwareSerial === failedSerial && r.errorCode === 'LABEL_MISMATCH');
    assert.ok(failRow, 'the failed device is in the export');
    assert.equal(failRow.outcome, 'fail');
    assert.equal(failRow.batchId, batchId);
    assert.equal(failRow.operator, 'Alice Martin');
    assert.ok(
      rows.some((r) => r.outcome === 'ok' && r.step === 'record'),
      'passed devices are recorded',
    );
  });

  test('the batch report shows charts and prints to PDF', async () => {
    await page.goto(`${st.web.url}/#/report/${encodeURIComponent(batchId)}`);
    const report = page.getByTestId('batch-report');
    await report.getByText('Batch report: WO-2026-0042').waitFor();
    assert.equal(await report.locator('.recharts-wrapper').count(), 2, 'throughput and failures charts');
    await screenshot(page, '05-batch-report');
    await page.emulateMedia({ media: 'print' });
    await screenshot(page, '06-batch-report-print');
    assert.equal(await page.locator('nav.nav').isVisible(), false, 'no navigation on paper');
    const pdf = await page.pdf({ path: join(ARTIFACTS_DIR, 'batch-report.pdf'), format: 'A4' });
    assert.ok(pdf.subarray(0, 4).toString() === '%PDF');
    await page.emulateMedia({ media: 'screen' });
  });

  test('an operator cannot change settings; an admin with the PIN can, and the change is in the trail', async () => {
    await page.keyboard.press('F4');
    await page.getByTestId('admin-pin').fill('000000');
    await page.getByTestId('admin-unlock').click();
    await page.getByTestId('admin-error').getByText('Wrong admin PIN').waitFor();
    assert.equal(await page.getByTestId('save-settings').count(), 0, 'no settings form without the PIN');
    await screenshot(page, '07-settings-refused');

    await page.getByLabel('Your name').fill('Dana Admin');
    await page.getByTestId('admin-pin').fill(st.adminPin);
    await page.getByTestId('admin-unlock').click();
    await page.getByTestId('save-settings').waitFor();
    await page.locator('input[name=simulated]').fill('3');
    await page.getByTestId('save-settings').click();
    await page.getByTestId('settings-message').getByText('Settings saved').waitFor();
    await screenshot(page, '08-settings');

    await page.keyboard.press('F2');
    await page.locator('input[name=operator]').fill('Dana Admin');
    await page.locator('input[name=operator]').press('Enter');
    const row = page.getByTestId('audit-results').locator('tbody tr').filter({ hasText: 'settings-change' }).first();
    await row.waitFor();
    await row.click();
    assert.match((await page.getByTestId('event-detail').textContent()) ?? '', /simulatedFixtures/);
    const refused = await st.mode.service.queryAudit({ step: 'admin-unlock', outcome: 'fail' });
    assert.ok(
      refused.some((e) => e.errorCode === 'ADMIN_PIN_INVALID'),
      'the refused PIN is audited too',
    );
  });

  test('the page logged no errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
