// The simulator's command line: every fault flag reaches the simulator, bad values are refused.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseDeviceSimArgs } from '../../src/sim/device-sim-program.ts';
import type { DeviceSimOptions } from '../../src/sim/device-simulator.ts';
import { deviceSimArgs } from '../../src/sim/pty-device.ts';

it('options survive the trip through the command line (as spawnPtyDevice passes them)', () => {
  const opts: DeviceSimOptions = {
    hardwareSerial: 'SN123',
    storageFile: '/tmp/x.json',
    model: 'm',
    firmware: '9.9',
    mac: 'A4:CF:12:0B:9E:01',
    gtin: '09506000134352',
    maxFrameBytes: 160,
    protocolMinor: 0,
    deviations: ['overwrite', 'echo-secret'],
    writeLatencyMs: 30,
    replyDelayMs: 5,
    reportedSerial: 'SN999',
    allowFactoryReset: true,
    seed: 4,
    faults: {
      dropRate: 0.1,
      corruptRate: 0.2,
      silent: true,
      disconnectMidWrite: true,
      powerLossDuringWrite: true,
      preWrittenSecret: Buffer.alloc(32, 1).toString('base64'),
      raceWrite: Buffer.alloc(32, 2).toString('base64'),
    },
  };
  const parsed = parseDeviceSimArgs(['--port', '/dev/pts/9', ...deviceSimArgs(opts)]);
  assert.equal(parsed.port, '/dev/pts/9');
  assert.deepEqual(parsed.sim, opts);
});

it('refuses missing and out-of-range arguments', () => {
  assert.throws(() => parseDeviceSimArgs(['--port', 'p']), /--serial is required/);
  assert.throws(() => parseDeviceSimArgs(['--serial', 'S']), /--port PATH or --pty/);
  assert.throws(() => parseDeviceSimArgs(['--port', 'p', '--serial', 'S', '--drop-rate', '2']), /--drop-rate/);
  assert.throws(() => parseDeviceSimArgs(['--port', 'p', '--serial', 'S', '--slow', 'soon']), /--slow/);
  assert.throws(() => parseDeviceSimArgs(['--port', 'p', '--serial', 'S', '--frobnicate']));
  assert.throws(() => parseDeviceSimArgs(['--port', 'p', '--serial', 'S', '--deviate', 'be-nice']), /--deviate/);
  assert.throws(() => parseDeviceSimArgs(['--port', 'p', '--serial', 'S', '--protocol-minor', '2']), /--protocol-minor/);
});
