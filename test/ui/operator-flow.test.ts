// The operator flow cannot be derailed, in a real browser on the real station: a name typed in the
// scan field signs in, WO: opens a batch, Start line waits for both, F2–F4 land in their first
// field, focus comes back to the scan field after every action, and Enter, Space or a scanner's CR
// on any control never stops the line, closes the batch or signs the operator out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';

/** What has the focus, in words (the root tsconfig has no DOM types: this runs in the page). */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = (globalThis as unknown as { document: { activeElement: Record<string, unknown> | null } }).document
      .activeElement as {
      tagName: string;
      id: string;
      name?: string;
      textContent: string | null;
      getAttribute(n: string): string | null;
    } | null;
    if (!el) return 'nothing';
    const testId = el.getAttribute('data-testid');
    return [el.tagName.toLowerCase(), el.id && `#${el.id}`, testId && `[${testId}]`, el.name && `[name=${el.name}]`]
      .filter(Boolean)
      .join('');
  });
}

const SCAN_FIELD = 'input#scan-field[scan-field]';
/** Every control a keyboard can reach in the page (dialogs closed). */
const CONTROLS = '.app a[href], .app button:not([disabled]), .app input, .app select, .app [tabindex]:not([tabindex="-1"])';

describe('a scan-driven operator flow that cannot be derailed', { skip }, () => {
  let st: TestStation;
  let browser: Browser;
  let page: Page;

  before(async () => {
    st = await startTestStation({ simulate: { fixtures: 2, seed: 5, faultRate: 0, swapDelayMs: 1500 } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  });
  after(async () => {
    await browser?.close();
    await st?.close();
  });

  const status = () => st.mode.service.getStatus();

  test('Start line waits for an operator and a batch, and says so in a sentence', async () => {
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    assert.equal(await focused(page), SCAN_FIELD);
    assert.equal(await page.getByTestId('start-line').isDisabled(), true);
    assert.match(
      (await page.getByTestId('start-blocker').textContent()) ?? '',
      /To start the line, sign in \(scan your badge or type your name\), then open a batch/,
    );
    await screenshot(page, 'flow-01-not-signed-in-1366x768');
  });

  test('a label scanned before anyone signs in does not sign anyone in; a typed name does', async () => {
    await page.keyboard.type('SIM-0001-LABEL\n');
    await page
      .getByTestId('operator-message')
      .getByText(/looks like a device label, not a name/)
      .waitFor();
    assert.equal((await status()).operator, undefined);
    await page.keyboard.type('Alice Martin\n');
    await page.getByTestId('nav-operator').getByText('Alice Martin (operator)').waitFor();
    assert.equal(await focused(page), SCAN_FIELD);
    assert.match((await page.getByTestId('start-blocker').textContent()) ?? '', /open a batch: scan its work order \(WO:…\)/);
    assert.equal(await page.getByTestId('start-line').isDisabled(), true);
  });

  test('F4, F2 and F3 land in their first field, and a work order typed after F3 is not lost', async () => {
    await page.keyboard.press('F4');
    await page.getByTestId('admin-pin').waitFor();
    assert.equal(await focused(page), 'input[admin-pin]');
    await page.keyboard.press('F2');
    await page.locator('input[name=find]').waitFor();
    assert.equal(await focused(page), 'input[name=find]');
    await page.keyboard.press('F3');
    await page.getByTestId('work-order').waitFor();
    assert.equal(await focused(page), 'input[work-order]');
    // A scanner types straight after F3.
    await page.keyboard.type('WO-F3-0001\n');
    await page.getByTestId('current-batch').getByText('Open batch: WO-F3-0001').waitFor();
  });

  test('closing a batch is a confirmed action: Enter and Space on Close batch cancel', async () => {
    const close = page.getByTestId('close-batch');
    for (const key of ['Enter', ' ']) {
      await close.focus();
      await page.keyboard.press(key);
      await page.getByTestId('confirm-dialog').getByText('Close batch WO-F3-0001?').waitFor();
      assert.equal(await focused(page), 'button[confirm-cancel]', 'Cancel is the default');
      await page.keyboard.press(key);
      await page.getByTestId('confirm-dialog').waitFor({ state: 'hidden' });
      assert.equal((await status()).batch?.workOrder, 'WO-F3-0001', `${key === ' ' ? 'Space' : key} did not close it`);
    }
    await close.click();
    await screenshot(page, 'flow-02-confirm-close-batch-1366x768');
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('work-order').waitFor();
    assert.equal((await status()).batch, undefined, 'closed on purpose');
  });

  test('a blank work order is refused with a sentence, not a schema message', async () => {
    await page.getByTestId('work-order').fill('   ');
    await page.getByTestId('work-order').press('Enter');
    await page.getByTestId('batches-error').getByText('Enter a work order number.', { exact: true }).waitFor();
    // Typed at once after F1, as a wedge scanner does: the keys come before the operator view's scan field
    // exists, while the focus is still in the Batches view's input (scan-focus.ts holds them for the field).
    await page.keyboard.press('F1');
    await page.keyboard.type('WO:\n');
    await page.getByTestId('operator-message').getByText('Enter a work order number.', { exact: true }).waitFor();
  });

  test('a WO: scan opens a batch; Start line then runs the line and gives the focus back to the scan field', async () => {
    await page.keyboard.type('WO:WO-2026-0777\n');
    await page.getByTestId('operator-message').getByText('Batch WO-2026-0777 is open.').waitFor();
    assert.equal((await status()).batch?.workOrder, 'WO-2026-0777');
    await page.getByTestId('start-line').click();
    await page.getByTestId('stop-line').waitFor();
    assert.equal(await focused(page), SCAN_FIELD, 'focus back on the scan field after Start line');
    await page.getByText('✔ PASS', { exact: true }).first().waitFor({ timeout: 60_000 });
  });

  test('Enter and Space on every control never stop the line, close the batch or sign out', async () => {
    const tried: string[] = [];
    const count = await page.locator(CONTROLS).count();
    assert.ok(count >= 7, `${count} controls: four views, the scan field, Stop line, Sign out`);
    for (let i = 0; i < count; i++) {
      for (const key of ['Enter', ' ']) {
        await page.keyboard.press('F1');
        await page.getByTestId('stop-line').waitFor();
        const control = page.locator(CONTROLS).nth(i);
        if (!(await control.isVisible())) continue;
        await control.focus();
        const what = await focused(page);
        await page.keyboard.press(key);
        // A confirmation may be up: the same key again (a second CR) must cancel it.
        if (await page.getByTestId('confirm-dialog').isVisible()) {
          assert.equal(await focused(page), 'button[confirm-cancel]', `${what}: the dialog's default is Cancel`);
          await page.keyboard.press(key);
          await page.getByTestId('confirm-dialog').waitFor({ state: 'hidden' });
          assert.equal(await focused(page), SCAN_FIELD, `${what}: focus back on the scan field after the dialog`);
        }
        const s = await status();
        assert.equal(s.running, true, `${key === ' ' ? 'Space' : key} on ${what} left the line running`);
        assert.equal(s.batch?.workOrder, 'WO-2026-0777', `${what}: the batch stays open`);
        assert.equal(s.operator?.name, 'Alice Martin', `${what}: the operator stays signed in`);
        tried.push(what);
      }
    }
    const distinct = new Set(tried);
    for (const must of ['button[stop-line]', 'button[sign-out]', SCAN_FIELD]) assert.ok(distinct.has(must), `tried ${must}`);
    assert.ok(
      [...distinct].some((w) => w.startsWith('a')),
      'the navigation links were tried',
    );
  });

  test("a scanner's label and CR while the focus is on Stop line go to the scan field, and the line runs on", async () => {
    await page.keyboard.press('F1');
    await page.getByTestId('stop-line').focus();
    await page.keyboard.type('SN-STRAY-0042\n');
    await page.getByTestId('operator-message').waitFor();
    assert.equal(await page.getByTestId('confirm-dialog').isVisible(), false, 'no dialog opened');
    assert.equal((await status()).running, true);
    assert.equal(await focused(page), SCAN_FIELD);
    // With the dialog up, a scan cancels it and its characters still reach the scan field.
    await page.getByTestId('stop-line').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-dialog').waitFor();
    await page.keyboard.type('SN-STRAY-0043');
    await page.getByTestId('confirm-dialog').waitFor({ state: 'hidden' });
    assert.equal(await page.getByTestId('scan-field').inputValue(), 'SN-STRAY-0043');
    await page.keyboard.press('Enter');
    assert.equal((await status()).running, true);
  });

  test('the navigation is reachable with the keyboard from the scan field', async () => {
    await page.getByTestId('scan-field').focus();
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Shift+Tab');
      seen.push(await focused(page));
      if (seen.at(-1) === 'a') break;
    }
    assert.equal(seen.at(-1), 'a', `Shift+Tab from the scan field reaches a navigation link (${seen.join(' → ')})`);
    assert.match(
      (await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent,
      )) ?? '',
      /Settings|Batches|QA|Operator/,
    );
  });

  test('one live region says each verdict; the cards are not live regions or alerts', async () => {
    await page.keyboard.press('F1');
    assert.equal(await page.locator('.fixtures [aria-live], .fixtures [role=alert]').count(), 0);
    assert.equal(await page.locator('[data-testid=verdict-live]').count(), 1);
    await page
      .getByTestId('verdict-live')
      .getByText(/: PASS/)
      .waitFor({ timeout: 60_000 });
  });

  test('stopping is deliberate: the confirmed Stop stops the line, and the focus is back on the scan field', async () => {
    await page.getByTestId('stop-line').click();
    await screenshot(page, 'flow-03-confirm-stop-1366x768');
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('start-line').waitFor({ timeout: 30_000 });
    assert.equal((await status()).running, false);
    assert.equal(await focused(page), SCAN_FIELD);
  });
});
