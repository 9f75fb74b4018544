// A real fixture port (the device simulator on a socat PTY) with a keyboard-wedge scanner: the
// admin configures the fixture, the operator types the label + Enter into the always-focused scan
// field, the device PASSes; scanning it again FAILs as already provisioned, with what to do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { type PtyDevice, spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { serviceSkip } from '../helpers/service-skip.ts';
import { chromiumAvailable, launchBrowser, screenshot } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = !chromiumAvailable()
  ? 'no Chromium at /usr/bin/chromium'
  : serviceSkip('socat', spawnSync('socat', ['-V']).status === 0)
    ? 'socat is not installed'
    : false;
if (skip) console.log(`# keyboard-wedge test skipped: ${skip}`);

const SERIAL = 'WEDGE-0001';

describe('keyboard-wedge scans on a real fixture port', { skip }, () => {
  let st: TestStation;
  let device: PtyDevice;
  let browser: Browser;
  let page: Page;

  before(async () => {
    st = await startTestStation({});
    device = await spawnPtyDevice({ hardwareSerial: SERIAL });
    const api = st.mode.service;
    await api.signIn({ name: 'Plant IT', pin: st.adminPin });
    await api.updateSettings({ fixtures: [{ id: 'F1', devicePort: device.path }], requireScan: true }, st.adminPin);
    await api.signOut();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await st?.close();
    await device?.stop();
  });

  test('the label typed by the scanner runs the device in the fixture to PASS', async () => {
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    assert.equal(await page.getByTestId('simulated-banner').count(), 0, 'a real line is not labelled SIMULATED');
    await page.keyboard.type('OP:Wes Turner\n');
    await page.getByTestId('nav-operator').getByText('Wes Turner (operator)').waitFor();
    await st.mode.service.openBatch('WO-WEDGE');
    await page.getByTestId('start-line').click();
    const card = page.getByTestId('fixture-F1');
    await card.getByText('Waiting for a scan').first().waitFor({ timeout: 30_000 });
    await page.keyboard.type(`${SERIAL}\n`);
    await card.locator('.fixture-verdict', { hasText: 'PASS' }).waitFor({ timeout: 30_000 });
    const text = (await card.textContent()) ?? '';
    assert.ok(text.includes(SERIAL));
    assert.ok(text.includes(deriveDeviceId(SERIAL)), 'the device id derived from the serial');
    await screenshot(page, '09-operator-wedge-pass');
  });

  test('scanning the same device again FAILs: it is already provisioned, and it is not rewritten', async () => {
    const card = page.getByTestId('fixture-F1');
    await card.getByText('Waiting for a scan').first().waitFor({ timeout: 30_000 });
    await page.keyboard.type(`${SERIAL}\n`);
    await card.locator('.fixture-verdict', { hasText: 'FAIL' }).waitFor({ timeout: 30_000 });
    const text = (await card.textContent()) ?? '';
    assert.match(text, /ALREADY_PROVISIONED/);
    assert.match(text, /What to do:/);
    await screenshot(page, '10-operator-wedge-fail');
    await page.getByTestId('stop-line').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('start-line').waitFor({ timeout: 30_000 });
  });
});
