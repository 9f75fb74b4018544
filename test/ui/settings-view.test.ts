// Settings show what really runs: a station started with --simulate says it ignores the configured
// fixtures; "Test port" on a port where no device answers says so in the colour of a failure, next
// to a port where the device simulator answers; a refused value is a sentence.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type PtyDevice, spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { createPtyPair, type PtyPair } from '../../src/sim/pty-pair.ts';
import { startLabelPrinter } from '../helpers/label-printer.ts';
import { serviceSkip } from '../helpers/service-skip.ts';
import { chromiumAvailable, launchBrowser, screenshot, unlockSettings } from './browser-harness.ts';
import { startTestStation, type TestStation } from './station-harness.ts';

const skip = !chromiumAvailable()
  ? 'no Chromium at /usr/bin/chromium'
  : serviceSkip('socat', spawnSync('socat', ['-V']).status === 0)
    ? 'socat is not installed'
    : false;

describe('settings that say what really runs', { skip }, () => {
  let st: TestStation;
  let silent: PtyPair;
  let device: PtyDevice;
  let browser: Browser;
  let page: Page;

  before(async () => {
    st = await startTestStation({ simulate: { fixtures: 2, faultRate: 0 } });
    silent = await createPtyPair({ name: 'silent' });
    device = await spawnPtyDevice({ hardwareSerial: 'PORT-TEST-1' });
    await st.mode.service.signIn({ name: 'Plant IT', pin: st.adminPin });
    await st.mode.service.updateSettings(
      {
        fixtures: [
          { id: 'F1', devicePort: silent.stationPath },
          { id: 'F2', devicePort: device.path },
        ],
      },
      st.adminPin,
    );
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(st.web.openUrl);
    await page.getByTestId('counters').waitFor();
    await unlockSettings(page, st.adminPin);
  });
  after(async () => {
    await browser?.close();
    await st?.close();
    await device?.stop();
    await silent?.close();
  });

  test('a station started with --simulate says it ignores the configured fixtures', async () => {
    const warning = (await page.getByTestId('simulate-override').textContent()) ?? '';
    assert.match(warning, /started with --simulate: it runs 2 simulated fixtures and ignores the 2 fixtures configured below/);
    // While the line is stopped it says what a start will run.
    assert.match(
      (await page.getByTestId('running-now').textContent()) ?? '',
      /Runs at Start line2 fixtures: sim-01 \(simulated\), sim-02 \(simulated\)/,
    );
  });

  test('"Test port": no device answered is a failure, in its colour; a device that answers is a pass', async () => {
    const row = (path: string) => page.getByTestId('port-list').locator('tr', { hasText: path });
    await row(silent.stationPath).getByRole('button', { name: 'Test port' }).click();
    const silentResult = row(silent.stationPath).getByTestId('port-result');
    await silentResult.getByText(/No device answered/).waitFor({ timeout: 30_000 });
    assert.equal(await silentResult.getAttribute('data-ok'), 'false');
    assert.match((await silentResult.textContent()) ?? '', /^✘ No device answered\. The port opens/);
    assert.equal(await silentResult.getAttribute('class'), 'error', 'in the colour of a failure');

    await row(device.path).getByRole('button', { name: 'Test port' }).click();
    const deviceResult = row(device.path).getByTestId('port-result');
    await deviceResult.getByText(/A device answered/).waitFor({ timeout: 30_000 });
    assert.equal(await deviceResult.getAttribute('class'), 'ok');
    await screenshot(page, 'settings-test-port-1366x768');
  });

  test('a label printer and a post-PASS hook are set in the form; Test print reaches the printer', async () => {
    const received: string[] = [];
    const printer = await startLabelPrinter(received);
    try {
      const { port } = printer;
      await page.locator('select[name=printerKind]').selectOption('tcp');
      await page.locator('input[name=printerHost]').fill('127.0.0.1');
      await page.locator('input[name=printerPort]').fill(String(port));
      await page.locator('textarea[name=hookCommand]').fill('/usr/local/bin/tell-mes\n--line=3');
      await page.getByTestId('save-settings').click();
      await page.getByTestId('settings-message').getByText('Settings saved').waitFor({ timeout: 30_000 });
      const saved = await st.mode.service.getSettings();
      assert.deepEqual(saved.labelPrinter, { kind: 'tcp', host: '127.0.0.1', port });
      assert.deepEqual(saved.postPassHook, { command: ['/usr/local/bin/tell-mes', '--line=3'] });
      await page.getByTestId('test-print').click();
      await page.getByTestId('test-print-result').getByText('✔ The printer took a test label').waitFor();
      assert.equal(received.length, 1);
      assert.match(received[0], /^\^XA[\s\S]*S\/N TEST-LABEL[\s\S]*\^XZ\n$/);
      await screenshot(page, 'settings-plant-1366x768');
      // Removed again: no printer, no hook.
      await page.locator('select[name=printerKind]').selectOption('none');
      await page.locator('textarea[name=hookCommand]').fill('');
      await page.getByTestId('save-settings').click();
      await page.getByTestId('settings-message').getByText('Settings saved').waitFor({ timeout: 30_000 });
      const cleared = await st.mode.service.getSettings();
      assert.equal(cleared.labelPrinter, undefined);
      assert.equal(cleared.postPassHook, undefined);
    } finally {
      await printer.close();
    }
  });

  test('a value the station refuses is a sentence', async () => {
    await page.getByTestId('setting-realm').fill('Bad Realm');
    await page.getByTestId('save-settings').click();
    // The previous save's message may still show: wait for this answer's sentence.
    const sentence =
      'A realm name starts with a lower-case letter, then up to 47 lower-case letters or digits (for example factory1).';
    const message = page.getByTestId('settings-message');
    await message.getByText(sentence).waitFor({ timeout: 15_000 });
    assert.equal(await message.textContent(), sentence);
  });

  test('a pairing core that is down pauses the line as PAIRING DOWN, with no device failed', async () => {
    // A port on 127.0.0.1 where nothing listens.
    const dead = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    await page.getByTestId('setting-realm').fill('imprint');
    // Every pairing mode the station runs is offered, the safe one for cores without imports included.
    const modes = await page
      .locator('select[name=mode] option')
      .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
    assert.deepEqual(modes, ['embedded', 'remote', 'remote-with-offline-fallback', 'deferred']);
    await page.locator('select[name=mode]').selectOption('remote');
    await page.locator('input[name=url]').fill(`http://127.0.0.1:${dead}`);
    await page.locator('input[name=agentToken]').fill('eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl');
    await page.getByTestId('save-settings').click();
    await page.getByTestId('settings-message').getByText('Settings saved').waitFor({ timeout: 30_000 });
    await page.keyboard.press('F1');
    await page.keyboard.type('OP:Rae Remote\n');
    await page.keyboard.type('WO:WO-PAIRING-DOWN\n');
    await page.getByTestId('start-line').click({ timeout: 30_000 });
    const banner = page.getByTestId('line-paused');
    await banner.waitFor({ timeout: 60_000 });
    assert.match((await banner.textContent()) ?? '', /^PAIRING DOWN — Pairing core unreachable/);
    assert.match((await page.getByTestId('status-line').textContent()) ?? '', /Line: PAUSED/);
    await screenshot(page, 'operator-pairing-down-1366x768', { fold: true });
    const status = await st.mode.service.getStatus();
    assert.equal(status.linePause?.code, 'PAIRING_CORE_UNREACHABLE');
    assert.equal(status.counters.failed, 0, 'no device failed for the pairing core');
    await st.mode.service.stop();
  });
});
