// What the line PC shows, at 1366×768 and 1920×1080, on a running line of four fixtures: every card
// and a FAIL's "What to do" above the fold, card heights that do not jump, and a screenshot of
// every view at both sizes. Then the batch report on paper: it fits A4 and Letter, has numbers on
// its bars, lists the failed devices with their codes, and ends with a printed-at and signature
// footer in local time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS_DIR, chromiumAvailable, launchBrowser, screenshot, unlockSettings } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';
const SIZES = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
] as const;
const ZONE = 'Europe/Berlin';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x - 0.5 &&
  inner.y >= outer.y - 0.5 &&
  inner.x + inner.width <= outer.x + outer.width + 0.5 &&
  inner.y + inner.height <= outer.y + outer.height + 0.5;

/** The class list of every card: changes whenever a fixture moves on. */
const cardStates = (page: Page) => page.locator('.fixture-card').evaluateAll((cards) => cards.map((c) => c.className).join('|'));

describe('the views at line-PC sizes, and the report on paper', { skip }, () => {
  let st: TestStation;
  let browser: Browser;
  let batchId = '';

  before(async () => {
    st = await startTestStation({
      simulate: { fixtures: 4, seed: 21, faultRate: 0.5, faults: ['label-swap'], swapDelayMs: 1200 },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await st?.close();
  });

  async function openPage(size: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: size, timezoneId: ZONE });
    const page = await context.newPage();
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    return { context, page };
  }

  test('1366×768: four cards and a FAIL\'s "What to do" above the fold, and card heights that never jump', async () => {
    const { context, page } = await openPage(SIZES[0]);
    try {
      await page.keyboard.type('OP:Lin Layout\n');
      await page.keyboard.type('WO:WO-LAYOUT-1\n');
      await page.getByTestId('start-line').click({ timeout: 30_000 });
      batchId = (await st.mode.service.getStatus()).batch?.id ?? '';
      const viewport = { x: 0, y: 0, ...SIZES[0] };
      const heights = new Set<number>();
      let sawFail = false;
      let states = '';
      // Through ten changes of the line (busy, PASS, FAIL, waiting): measure every card each time.
      for (let change = 0; change < 10; change++) {
        await page.waitForFunction(
          (before) =>
            Array.from(
              (
                globalThis as unknown as { document: { querySelectorAll(s: string): { className: string }[] } }
              ).document.querySelectorAll('.fixture-card'),
            )
              .map((c) => c.className)
              .join('|') !== before,
          states,
          { timeout: 60_000 },
        );
        states = await cardStates(page);
        const cards = page.locator('.fixture-card');
        assert.equal(await cards.count(), 4);
        for (let i = 0; i < 4; i++) {
          const box = (await cards.nth(i).boundingBox()) as Box;
          assert.ok(inside(box, viewport), `card ${i + 1} is inside the window (${JSON.stringify(box)})`);
          heights.add(Math.round(box.height));
        }
        // One snapshot of the FAIL card (the line keeps moving: boxes read one by one could straddle a change).
        const failView = await page.evaluate(() => {
          type El = {
            getBoundingClientRect(): { x: number; y: number; width: number; height: number };
            querySelector(s: string): El | null;
            scrollHeight: number;
            clientHeight: number;
          };
          const doc = (globalThis as unknown as { document: { querySelector(s: string): El | null } }).document;
          const card = doc.querySelector('.fixture-fail');
          const action = card?.querySelector('.failure-action');
          const text = card?.querySelector('.fixture-failure');
          if (!card || !action || !text) return undefined;
          const [cardBox, actionBox] = [card, action].map((e) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          });
          return { card: cardBox, action: actionBox, clipped: text.scrollHeight > text.clientHeight + 1 };
        });
        if (failView) {
          const { card, action, clipped } = failView;
          assert.ok(inside(action, viewport) && inside(action, card), '"What to do" is on screen, in its card');
          assert.equal(clipped, false, 'the failure text needs no scrolling');
          if (!sawFail) await screenshot(page, 'operator-fail-1366x768', { fold: true });
          sawFail = true;
        }
        // The operator acknowledges each held FAIL, so the line goes on.
        const acks = page.getByTestId('acknowledge');
        for (let i = (await acks.count()) - 1; i >= 0; i--) await acks.nth(i).click();
      }
      assert.ok(sawFail, 'a FAIL was on screen');
      assert.deepEqual(
        [...heights],
        [[...heights][0]],
        `every card, in every state, has one height (${[...heights].join(', ')} px)`,
      );
      const scrolls = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollHeight: number; clientHeight: number } } })
          .document;
        return d.documentElement.scrollHeight > d.documentElement.clientHeight;
      });
      assert.equal(scrolls, false, 'the operator view needs no scrolling');
    } finally {
      await context.close();
    }
  });

  test('a screenshot of every view at 1366×768 and 1920×1080', async () => {
    for (const size of SIZES) {
      const { context, page } = await openPage(size);
      const tag = `${size.width}x${size.height}`;
      try {
        await page.locator('.fixture-pass, .fixture-fail').first().waitFor({ timeout: 60_000 });
        await screenshot(page, `view-operator-${tag}`, { fold: true });
        await page.keyboard.press('F2');
        await page.getByTestId('chain-status').getByText('Audit trail verified').waitFor({ timeout: 30_000 });
        await page.getByTestId('audit-results').locator('tbody tr').first().click();
        await page.getByTestId('event-detail').waitFor();
        await screenshot(page, `view-qa-${tag}`, { fold: true });
        await page.keyboard.press('F3');
        await page.getByTestId('batch-list').locator('tbody tr').first().waitFor();
        await screenshot(page, `view-batches-${tag}`, { fold: true });
        await unlockSettings(page, st.adminPin);
        await screenshot(page, `view-settings-${tag}`, { fold: true });
        await page.goto(`${st.web.url}/#/report/${encodeURIComponent(batchId)}`);
        await page.getByTestId('batch-report').waitFor();
        await screenshot(page, `view-report-${tag}`);
      } finally {
        await context.close();
      }
    }
    // Unlocking Settings kept the line operator.
    assert.equal((await st.mode.service.getStatus()).operator?.name, 'Lin Layout');
  });

  test('the batch report fits A4 and Letter, with numbers on its bars, the failed devices and a footer', async () => {
    await st.mode.service.stop();
    const report = await st.mode.service.batchReport(batchId);
    const failed = (await st.mode.service.queryAudit({ batchId, step: 'record', outcome: 'fail', limit: 5000 })).length;
    assert.ok(failed >= 1, 'the batch has failed devices');
    // The printable width at 96 px per inch with 12 mm margins: A4 186 mm, Letter 191.9 mm.
    for (const [paper, width, format] of [
      ['a4', 703, 'A4'],
      ['letter', 725, 'Letter'],
    ] as const) {
      const context = await browser.newContext({ viewport: { width, height: 1000 }, timezoneId: ZONE });
      const page = await context.newPage();
      try {
        await page.goto(st.web.openUrl);
        await page.getByTestId('counters').waitFor();
        await page.goto(`${st.web.url}/#/report/${encodeURIComponent(batchId)}`);
        const article = page.getByTestId('batch-report');
        await article.waitFor();
        await page.emulateMedia({ media: 'print' });
        const fits = await article.evaluate((el) => {
          const e = el as unknown as {
            scrollWidth: number;
            clientWidth: number;
            querySelectorAll(s: string): { getBoundingClientRect(): { right: number } }[];
            getBoundingClientRect(): { right: number };
          };
          const right = e.getBoundingClientRect().right;
          return (
            e.scrollWidth <= e.clientWidth &&
            Array.from(e.querySelectorAll('svg, table')).every((c) => c.getBoundingClientRect().right <= right + 0.5)
          );
        });
        assert.equal(fits, true, `nothing wider than the ${format} printable width`);
        const labels = await article.locator('.recharts-label-list').allTextContents();
        assert.ok(labels.join(' ').includes(String(report.summary.passed)), 'the passed count is written on its bar');
        assert.ok(
          report.failuresByCode.every((f) => labels.join(' ').includes(String(f.count))),
          'each failure code has its count on its bar',
        );
        const rows = await page.getByTestId('report-failed').locator('tbody tr').allTextContents();
        assert.equal(rows.length, failed, 'every failed device attempt is listed');
        assert.ok(
          rows.every((r) => /LABEL_MISMATCH|[A-Z_]{5,}/.test(r)),
          'with its code',
        );
        const footer = (await page.getByTestId('report-footer').textContent()) ?? '';
        assert.match(footer, /Printed \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \((Europe\/Berlin|CES?T), UTC\+0[12]:00\)/);
        assert.match(footer, /Checked by \(QA\).*Signature.*Date/);
        await screenshot(page, `report-print-${paper}`);
        const file = join(ARTIFACTS_DIR, `batch-report-${paper}.pdf`);
        await page.pdf({ path: file, format, preferCSSPageSize: false });
        const pdf = readFileSync(file).toString('latin1');
        assert.ok(pdf.startsWith('%PDF'));
        const pages = pdf.match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
        assert.ok(pages >= 1 && pages <= 3, `${format}: ${pages} pages`);
      } finally {
        await context.close();
      }
    }
  });
});
