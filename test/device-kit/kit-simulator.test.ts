// The conformance kit against our simulator: it passes on a socat PTY through the `imprint
// device-test` command, and for every fault mode and deliberate deviation of the simulator it
// names the rule that breaks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KitOptions } from '../../src/serial/conformance/kit-context.ts';
import { type KitReport, runDeviceKit } from '../../src/serial/conformance/run-device-kit.ts';
import { DEVICE_DEVIATIONS, type DeviceDeviation } from '../../src/sim/device-sim-deviations.ts';
import { type DeviceSimOptions, DeviceSimulator } from '../../src/sim/device-simulator.ts';
import { createDuplexPair } from '../../src/sim/duplex-pair.ts';
import { spawnPtyDevice } from '../../src/sim/pty-device.ts';

const BIN = fileURLToPath(new URL('../../bin/imprint.mjs', import.meta.url));
// Slack for a loaded host, where the delays are not the device's own (see the timing faults below).
const SLACK = { slackMs: 2000 };
// Where only the broken rule is asserted: a short wait for replies a deviation never sends.
const QUICK = { slackMs: 1000, timeoutMs: 300 };

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

/** The kit against an in-process simulator; a fault that takes the device off the bus pulls the cable. */
async function kitInProcess(sim: Omit<DeviceSimOptions, 'hardwareSerial'>, opts: KitOptions): Promise<KitReport> {
  const device = new DeviceSimulator({ hardwareSerial: 'SN-KIT-1', ...sim });
  const [station, end] = createDuplexPair();
  device.attach(end);
  device.on('unplugged', () => end.destroy());
  device.on('power-loss', () => end.destroy());
  try {
    return await runDeviceKit(station, opts);
  } finally {
    station.destroy();
  }
}

const failed = (r: KitReport) => r.rules.filter((x) => x.status === 'fail').map((x) => x.id);
const rule = (r: KitReport, id: string) => r.rules.find((x) => x.id === id)!;

describe('the kit passes on the simulator', () => {
  test('on a socat PTY through `imprint device-test --destructive --json`, and as text read-only', async (t) => {
    const dev = await spawnPtyDevice({
      hardwareSerial: 'SN-KIT-PTY',
      mac: 'A4:CF:12:0B:9E:01',
      allowFactoryReset: true,
      writeLatencyMs: 50,
    });
    t.after(() => dev.stop());
    const json = await cli(['device-test', dev.path, '--destructive', '--json', '--slack', '2000']);
    assert.equal(json.code, 0, json.out);
    const report = JSON.parse(json.out) as KitReport;
    assert.equal(report.kit, 'imprint-device-test/1');
    assert.deepEqual(report.counts, { pass: 40, fail: 0, skip: 0, manual: 4 });
    assert.equal(report.device.minor, '1');
    // Rules judged over the whole session (F-REPLY, W-NO-ECHO) show frames only when they fail.
    for (const r of report.rules.filter((x) => x.status === 'pass' && !['F-REPLY', 'W-NO-ECHO'].includes(x.id))) {
      assert.ok(r.frames.some((f) => f.dir === 'tx') && r.frames.some((f) => f.dir === 'rx'), `${r.id} shows its frames`);
    }

    const text = await cli(['device-test', dev.path, '--slack', '2000']);
    assert.equal(text.code, 0, text.out);
    assert.match(
      text.out,
      /^PASS {3}F-CRC .*\n {9}sent >[0-9A-F]{4} STATUS \*[0-9A-F]{4}\n {9}got {2}<[0-9A-F]{4} ERR code=BAD_CRC /m,
    );
    assert.match(text.out, /^SKIP {3}W-ONCE .*\n {7}why: writes the device: needs --destructive/m);
    assert.match(text.out, /44 rules: 23 pass, 0 fail, 17 skip, 4 manual/);
  });

  test('a device announcing max=128, and a v1.0 device (no minor=, no CONFIG parts)', async () => {
    const small = await kitInProcess({ maxFrameBytes: 128 }, { ...SLACK, destructive: true });
    assert.deepEqual(failed(small), []);
    const v10 = await kitInProcess({ protocolMinor: 0 }, { ...SLACK, destructive: true });
    assert.deepEqual(failed(v10), []);
    assert.match(rule(v10, 'G-PARTS').reason ?? '', /protocol 1\.0/);
  });
});

describe('the kit names the rule a deviation breaks', () => {
  for (const [name, { breaks, what }] of Object.entries(DEVICE_DEVIATIONS)) {
    test(`${name} (${what}): ${breaks} fails`, async () => {
      // A parallel retransmission only exists while a write takes time.
      const sim = { deviations: [name as DeviceDeviation], writeLatencyMs: name === 'busy-parallel' ? 100 : 0 };
      const report = await kitInProcess(sim, { ...QUICK, destructive: true });
      assert.ok(failed(report).includes(breaks), `${breaks} not among the failures: ${failed(report).join(', ')}`);
      assert.ok((rule(report, breaks).reason ?? '').length > 0);
    });
  }
});

describe('the kit names the rule a fault breaks', () => {
  test('slow replies (--slow): T-QUICK, and nothing else', async () => {
    // No slack: the delay is the device's own. A long wait, so that a loaded host loses no reply.
    const report = await kitInProcess({ replyDelayMs: 260 }, { timeoutMs: 3000 });
    assert.deepEqual(failed(report), ['T-QUICK']);
    assert.match(rule(report, 'T-QUICK').reason ?? '', /more than 250 ms/);
  });

  test('slow storage (--write-latency): T-STORAGE, and nothing else', async () => {
    const report = await kitInProcess({ writeLatencyMs: 3200 }, { destructive: true, slackMs: 1000, timeoutMs: 3000 });
    assert.deepEqual(failed(report), ['T-STORAGE']);
  });

  test('a silent device: H-REPLY, the rest not run', async () => {
    const report = await kitInProcess({ faults: { silent: true } }, { timeoutMs: 200 });
    assert.deepEqual(failed(report), ['H-REPLY']);
    assert.match(rule(report, 'I-REPLY').reason ?? '', /not run: no valid OK reply to HELLO/);
  });

  test('every frame corrupted, or bytes lost from every frame: H-REPLY, the rest not run', async () => {
    for (const faults of [{ corruptRate: 1 }, { dropRate: 1 }]) {
      const report = await kitInProcess({ faults, seed: 7 }, { timeoutMs: 200 });
      assert.ok(failed(report).includes('H-REPLY'), JSON.stringify(faults));
      assert.equal(rule(report, 'S-REPLY').status, 'skip');
    }
  });

  test('unplugged or power lost mid-write: B-RETRANSMIT, where the first WRITE is, then nothing more runs', async () => {
    for (const faults of [{ disconnectMidWrite: true }, { powerLossDuringWrite: true }]) {
      const report = await kitInProcess({ faults }, { ...SLACK, destructive: true });
      assert.deepEqual(failed(report), ['B-RETRANSMIT'], JSON.stringify(faults));
      assert.match(rule(report, 'W-STORE').reason ?? '', /not run: the port closed during B-RETRANSMIT/);
    }
  });

  test('storage already written: no rule breaks, the storage rules say why they did not run; with reset they run', async () => {
    const secret = randomBytes(32).toString('base64');
    const report = await kitInProcess({ faults: { preWrittenSecret: secret } }, { ...SLACK, destructive: true });
    assert.deepEqual(failed(report), []);
    assert.match(rule(report, 'W-ONCE').reason ?? '', /storage is written and the device cannot RESET/);
    const resettable = await kitInProcess(
      { allowFactoryReset: true, faults: { preWrittenSecret: secret } },
      { ...SLACK, destructive: true },
    );
    assert.deepEqual(failed(resettable), []);
    assert.equal(rule(resettable, 'W-ONCE').status, 'pass');
  });

  test('a device that reports another serial than its label is no protocol fault: the kit passes', async () => {
    const report = await kitInProcess({ reportedSerial: 'SN-OTHER' }, SLACK);
    assert.deepEqual(failed(report), []);
  });
});
