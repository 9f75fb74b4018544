// Reprinting a label, as an operator at the line does it: the card's "Reprint" sends that
// fixture's last PASS label again, "Reprint last label" the line's newest one; each reprint is
// recorded as label-print with reprint: true and the operator's name. Only a device that passed
// ever gets a label: before any PASS there is nothing to reprint, and nobody signed in cannot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import { startLabelPrinter } from '../helpers/label-printer.ts';
import { chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { startTestStation, type TestStation, withTimeout } from './station-harness.ts';

const skip = chromiumAvailable() ? false : 'no Chromium at /usr/bin/chromium (set IMPRINT_CHROMIUM)';

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  return withTimeout(
    (async () => {
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 25));
      }
    })(),
    30_000,
    `timed out waiting for ${what}`,
  );
}

describe('reprinting a label', { skip }, () => {
  let st: TestStation;
  let printer: Awaited<ReturnType<typeof startLabelPrinter>>;
  const labels: string[] = [];
  let api: HttpStationClient;
  let browser: Browser;
  let page: Page;

  before(async () => {
    printer = await startLabelPrinter(labels);
    st = await startTestStation({ simulate: { fixtures: 2, faultRate: 0 } });
    api = new HttpStationClient({ baseUrl: st.web.url, token: st.web.token, openEvents: () => () => {} });
    const { port } = printer;
    await api.updateSettings({ labelPrinter: { kind: 'tcp', host: '127.0.0.1', port } }, st.adminPin);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  });
  after(async () => {
    await browser?.close();
    await st?.close();
    await printer?.close();
  });

  test('nothing to reprint before a PASS; nobody signed in cannot reprint', async () => {
    await assert.rejects(api.reprintLabel(), { code: 'NOT_SIGNED_IN' });
    await api.signIn({ name: 'Rita' });
    await assert.rejects(api.reprintLabel(), { code: 'NO_LABEL_TO_REPRINT', status: 409 });
    await assert.rejects(api.reprintLabel('sim-09'), { code: 'NO_LABEL_TO_REPRINT' });
    assert.equal(labels.length, 0, 'nothing was printed');
  });

  test('the card reprints its own last PASS, the button the line newest; both recorded with who', async () => {
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    await api.openBatch('WO-REPRINT');
    await api.start();
    await until('2 labels printed', () => (labels.length >= 2 ? true : undefined));
    await st.mode.service.stop();
    const printedBefore = labels.length;

    const card = page.getByTestId('fixture-sim-02');
    await card.getByTestId('reprint-label').waitFor();
    const serial = (await card.locator('dd.mono').nth(1).textContent()) ?? '';
    assert.match(serial, /^SIM-/);
    await card.getByTestId('reprint-label').click();
    await page.getByTestId('operator-message').getByText(`Label of ${serial} (sim-02) sent to the printer again.`).waitFor();
    const again = await until('the reprinted label', () => (labels.length > printedBefore ? labels.at(-1) : undefined));
    assert.ok(again.includes(`S/N ${serial}`), 'the same device');
    assert.ok(again.includes('WO WO-REPRINT'));
    assert.equal(
      await page.evaluate(
        () => (globalThis as unknown as { document: { activeElement: { id?: string } | null } }).document.activeElement?.id,
      ),
      'scan-field',
      'the focus is back on the scan field after the reprint',
    );

    const newest = (await api.queryAuditPage({ step: 'record', outcome: 'ok', limit: 1 })).events[0];
    await page.getByTestId('reprint-last-label').click();
    await page.getByTestId('operator-message').getByText(`Label of ${newest.hardwareSerial}`).waitFor();
    await until('the last label again', () => (labels.length > printedBefore + 1 ? true : undefined));
    assert.ok(labels.at(-1)?.includes(`S/N ${newest.hardwareSerial}`));

    const reprints = (await api.queryAuditPage({ step: 'label-print', outcome: 'ok' })).events.filter(
      (e) => (e.data as { reprint?: boolean } | undefined)?.reprint === true,
    );
    assert.deepEqual(
      reprints.map((e) => [e.hardwareSerial, e.operator]),
      [
        [newest.hardwareSerial, 'Rita'],
        [serial, 'Rita'],
      ],
    );
    await page.mouse.move(0, 0);
    await screenshot(page, 'operator-reprint-1366', { fold: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await screenshot(page, 'operator-reprint-1920', { fold: true });
  });
});
