// QA sees everything: a trail of 2,725 events pages to its very first event, a filtered search
// shows its total at once and exports exactly its rows, find takes the start of a serial in any
// case, times are local with the zone named, the results are one tab stop walked with the arrow
// keys, and the event detail stays in view and closes with Esc.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { ARTIFACTS_DIR, chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';
const TOTAL = 2725;
const ZONE = 'America/New_York';

/** What has the focus (runs in the page; the root tsconfig has no DOM types). */
const focusedInfo = (page: Page) =>
  page.evaluate(() => {
    const el = (
      globalThis as unknown as {
        document: {
          activeElement: { tagName: string; getAttribute(n: string): string | null; closest(s: string): unknown } | null;
        };
      }
    ).document.activeElement;
    return { tag: el?.tagName ?? '', testId: el?.getAttribute('data-testid') ?? '', inBody: !!el?.closest('tbody') };
  });

/** "2026-12-03 03:55:31" in New York, as the page should show `iso`. */
function newYork(iso: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: ZONE,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

describe('QA on a long trail', { skip }, () => {
  let st: TestStation;
  let browser: Browser;
  let page: Page;
  let failed = 0;

  before(async () => {
    st = await startTestStation({ simulate: { fixtures: 2, faultRate: 0 } });
    const audit = st.mode.service.current.audit;
    const already = (await st.mode.service.verifyAudit()).events;
    // Events as a line writes them, in chunks so the trail's group commit can batch them.
    const todo = TOTAL - already;
    for (let i = 0; i < todo; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, todo - i) }, (_, j) => {
          const n = i + j;
          const fail = n % 10 === 3;
          if (fail) failed++;
          return audit.append({
            station: 'station-qa',
            operator: n % 2 ? 'Quinn QA' : 'Pat Line',
            hardwareSerial: `QA-${String(n).padStart(5, '0')}`,
            deviceId: `dev-qa-${n}`,
            step: 'record',
            outcome: fail ? 'fail' : 'ok',
            errorCode: fail ? 'LABEL_MISMATCH' : undefined,
          });
        }),
      );
    }
    assert.equal((await st.mode.service.verifyAudit()).events, TOTAL);
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: ZONE });
    page = await context.newPage();
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    await page.keyboard.press('F2');
  });
  after(async () => {
    await browser?.close();
    await st?.close();
  });

  const range = () => page.getByTestId('audit-range').textContent();
  const seqsOnPage = async () =>
    (await page.locator('[data-testid=audit-results] tbody tr td:first-child').allTextContents()).map(Number);

  test(`paging reaches the ${TOTAL.toLocaleString('en-US')}th event: every event once, newest first, with the total shown`, async () => {
    await page
      .getByTestId('audit-range')
      .getByText(`Events 1–100 of ${TOTAL.toLocaleString('en-US')}`)
      .waitFor({ timeout: 30_000 });
    const seen: number[] = [];
    for (let p = 1; ; p++) {
      const seqs = await seqsOnPage();
      seen.push(...seqs);
      if (await page.getByTestId('page-next').isDisabled()) break;
      await page.getByTestId('page-next').click();
      await page
        .getByTestId('audit-range')
        .getByText(new RegExp(`^Events ${(p * 100 + 1).toLocaleString('en-US')}–`))
        .waitFor();
    }
    assert.equal(await range(), `Events 2,701–2,725 of 2,725`);
    assert.equal(seen.length, TOTAL);
    assert.deepEqual(
      seen,
      Array.from({ length: TOTAL }, (_, i) => TOTAL - i),
      'each event once, newest first, down to seq 1',
    );
    await screenshot(page, 'qa-last-page-1366x768', { fold: true });
    await page.getByTestId('page-previous').click();
    await page.getByTestId('audit-range').getByText('Events 2,601–2,700 of 2,725').waitFor();
  });

  /** The data rows of a downloaded CSV (the signed header and trailer records left out). */
  async function downloadRows(testId: string, name: string): Promise<string[]> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
    const file = join(ARTIFACTS_DIR, name);
    await download.saveAs(file);
    return readFileSync(file, 'utf8')
      .split('\r\n')
      .slice(1)
      .filter((l) => l !== '' && !l.startsWith('header,') && !l.startsWith('trailer,'));
  }

  test('a filtered search shows its total at once, pages to its end, and exports exactly its rows', async () => {
    await page.locator('select[name=outcome]').selectOption('fail');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('audit-range').getByText(`Events 1–100 of ${failed}`).waitFor();
    assert.match((await page.getByTestId('export-csv').textContent()) ?? '', new RegExp(`${failed} events`));
    const rows = await downloadRows('export-csv', 'qa-filtered-export.csv');
    assert.equal(rows.length, failed, 'the export holds exactly the filtered events');
    assert.ok(rows.every((r) => r.includes(',fail,')));
    const devices = await downloadRows('export-devices', 'qa-filtered-devices.csv');
    assert.equal(devices.length, failed, 'one row per failed device');
    while (!(await page.getByTestId('page-next').isDisabled())) {
      const before = await range();
      await page.getByTestId('page-next').click();
      await page.waitForFunction(
        (b) =>
          (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }).document.querySelector(
            '[data-testid=audit-range]',
          ).textContent !== b,
        before,
      );
    }
    assert.match((await range()) ?? '', new RegExp(`of ${failed}$`));
    const shown = await page.locator('[data-testid=audit-results] tbody tr').allTextContents();
    assert.ok(shown.every((r) => r.includes('fail')));
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('audit-range').getByText(`Events 1–100 of 2,725`).waitFor();
  });

  test('find takes the start of a serial in any case', async () => {
    await page.locator('input[name=find]').fill('qa-0001');
    await page.locator('input[name=find]').press('Enter');
    await page.getByTestId('audit-range').getByText('Events 1–10 of 10').waitFor();
    const serials = await page.locator('[data-testid=audit-results] tbody tr').allTextContents();
    assert.ok(
      serials.every((r) => /QA-0001\d/.test(r)),
      serials.join('\n'),
    );
    await screenshot(page, 'qa-find-1366x768', { fold: true });
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('audit-range').getByText(`Events 1–100 of 2,725`).waitFor();
  });

  test('times are local, with the zone named', async () => {
    const header = (await page.locator('[data-testid=audit-results] thead th').nth(1).textContent()) ?? '';
    assert.match(header, /^Time \((EST|EDT|UTC-0[45]:00)\)$/);
    const [newest] = (await st.mode.service.queryAudit({ limit: 1 })) as AuditEvent[];
    const cell = await page.locator('[data-testid=audit-results] tbody tr').first().locator('td').nth(1).textContent();
    assert.equal(cell, newYork(newest.ts));
  });

  test('the results are one tab stop, walked with the arrow keys; the detail stays in view and Esc closes it', async () => {
    assert.equal(
      await page.locator('[data-testid=audit-results] tr[tabindex], [data-testid=audit-results] td[tabindex]').count(),
      0,
    );
    await page.getByTestId('export-jsonl').focus();
    let found = false;
    for (let i = 0; i < 6 && !found; i++) {
      await page.keyboard.press('Tab');
      found = (await focusedInfo(page)).testId === 'audit-results';
    }
    assert.ok(found, 'Tab reaches the results');
    const outline = await page
      .getByTestId('audit-results')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string } }).getComputedStyle(el).outlineStyle,
      );
    assert.notEqual(outline, 'none', 'the focus is visible');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    const active = page.locator('[data-testid=audit-results] tbody tr.active');
    const activeSeq = Number(await active.locator('td').first().textContent());
    assert.equal(activeSeq, TOTAL - 3, 'the fourth row');
    assert.equal(await page.getByTestId('audit-results').getAttribute('aria-activedescendant'), await active.getAttribute('id'));
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('event-detail');
    await detail.getByText(`Event ${activeSeq}`).waitFor();
    const inView = async () => {
      const box = await detail.boundingBox();
      return !!box && box.y >= -1 && box.y < 768 - 100;
    };
    assert.ok(await inView(), 'the detail is in view when it opens');
    await page.mouse.move(300, 600);
    await page.mouse.wheel(0, 3000);
    // Two frames: the scroll has landed and sticky positions are laid out.
    await page.evaluate(() => {
      const frame = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void }).requestAnimationFrame;
      return new Promise<void>((r) => frame(() => frame(r)));
    });
    assert.ok(await inView(), 'and stays in view when the page scrolls');
    await screenshot(page, 'qa-detail-1366x768', { fold: true });
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });
    assert.equal((await focusedInfo(page)).testId, 'audit-results', 'the focus is back on the results');
    await page.keyboard.press('Tab');
    assert.equal((await focusedInfo(page)).inBody, false, 'the next Tab leaves the table: rows are not tab stops');
  });
});
