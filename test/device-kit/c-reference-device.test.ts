// The C reference device (firmware/reference), compiled here with cc: it passes the conformance kit,
// and the real station provisions it to PASS over its PTY, also with a small `max` (CONFIG in parts)
// or refuses it before anything is written when its config cannot fit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { runDeviceKit } from '../../src/serial/conformance/run-device-kit.ts';
import { crcHex } from '../../src/serial/crc16.ts';
import { createDeviceClient } from '../../src/serial/device-client.ts';
import { secretDigest } from '../../src/serial/device-types.ts';
import { closePort, openDevicePort } from '../../src/serial/ports.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { embeddedCoreDir } from '../../src/station/pairing-setup.ts';
import { Station } from '../../src/station/station.ts';
import { defaultStationConfig, type StationConfig } from '../../src/station/station-config.ts';
import { buildCDevice, type CDevice, startCDevice } from './c-device.ts';

// Loaded CI hosts stall processes now and then: the kit's time limits get slack here. Its timing
// rules are proven to fail in kit-simulator.test.ts, where the delays are the device's own.
const KIT = { slackMs: 2000 };

const devices: CDevice[] = [];
const dirs: string[] = [];
after(async () => {
  for (const d of devices) await d.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function device(opts: Parameters<typeof startCDevice>[0]): Promise<CDevice> {
  const d = await startCDevice(opts);
  devices.push(d);
  return d;
}

async function kit(path: string, destructive: boolean) {
  const port = await openDevicePort(path);
  try {
    return await runDeviceKit(port, { ...KIT, destructive });
  } finally {
    await closePort(port);
  }
}

function failures(report: Awaited<ReturnType<typeof kit>>): string {
  return report.rules
    .filter((r) => r.status === 'fail')
    .map((r) => `${r.id}: ${r.reason}`)
    .join('\n');
}

async function provision(path: string, serial: string, overrides: Partial<StationConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cdev-station-'));
  dirs.push(dir);
  const config: StationConfig = {
    ...defaultStationConfig(),
    stationId: 'c-device-station',
    realm: 'plant1',
    pairingUrl: 'https://pairing.example.com/pairing',
    brokerUrl: 'mqtts://broker.example.com:8883',
    fixtures: [{ id: 'bay-1', devicePort: path }],
    ...overrides,
  };
  const station = await Station.open({ dataDir: dir, config, operator: 'fw', maxDevices: 1 });
  try {
    await station.start();
    await station.whenIdle();
    const steps = station.audit.query({ hardwareSerial: serial }).map((e) => `${e.step}:${e.outcome}`);
    return { dir, summary: station.summary(), fixture: station.fixtures()[0], steps };
  } finally {
    await station.close();
  }
}

async function readDevice(path: string) {
  const client = createDeviceClient(await openDevicePort(path), { timeoutMs: 1000 });
  try {
    return { status: await client.storageStatus(), identity: await client.identity() };
  } finally {
    await client.close();
  }
}

describe('the C reference device', () => {
  test('builds with cc -std=c99 and no warning', () => {
    assert.ok(existsSync(buildCDevice()));
  });

  test('passes every rule of the kit, read-only then destructive (rework build, OTP programming slower than a retransmission)', async () => {
    const d = await device({ serial: 'CREF-0001', mac: 'A4:CF:12:0B:9E:01', allowReset: true, programMs: 150 });
    const readOnly = await kit(d.path, false);
    assert.equal(readOnly.counts.fail, 0, failures(readOnly));
    const full = await kit(d.path, true);
    assert.equal(full.counts.fail, 0, failures(full));
    assert.deepEqual(
      full.rules.filter((r) => r.status === 'skip').map((r) => r.id),
      [],
    );
    assert.equal(full.device.model, 'imprint-ref');
    // B-RETRANSMIT: three copies of one WRITE while the OTP was busy, three identical replies.
    const busy = full.rules.find((r) => r.id === 'B-RETRANSMIT')!;
    const writes = busy.frames.filter((f) => f.dir === 'rx' && /^<[0-9A-F]{4} OK digest=/.test(f.line));
    assert.equal(writes.length, 3);
    assert.equal(new Set(writes.map((f) => f.line)).size, 1);
    assert.deepEqual((await readDevice(d.path)).status, { state: 'empty' }, 'the kit resets a rework device at the end');
  });

  test('a production build (no reset) passes too, and is left locked; a second run skips the storage rules and says why', async () => {
    const d = await device({ serial: 'CREF-0002' });
    const first = await kit(d.path, true);
    assert.equal(first.counts.fail, 0, failures(first));
    assert.equal((await readDevice(d.path)).status.state, 'locked');
    const second = await kit(d.path, true);
    assert.equal(second.counts.fail, 0, failures(second));
    const skipped = second.rules.find((r) => r.id === 'W-STORE')!;
    assert.equal(skipped.status, 'skip');
    assert.match(skipped.reason ?? '', /storage is locked and the device cannot RESET/);
  });

  test('a build announcing max=128 passes the kit', async () => {
    const d = await device({ serial: 'CREF-0003', max: 128, allowReset: true });
    const report = await kit(d.path, true);
    assert.equal(report.counts.fail, 0, failures(report));
    assert.equal(report.device.max, '128');
  });

  test('survives 3000 random lines (broken frames, stray bytes, endless lines) and still answers', async () => {
    const d = await device({ serial: 'CREF-FUZZ', max: 200 });
    const port = await openDevicePort(d.path);
    const random = seededRandom(42);
    const pieces = [
      '>',
      '<',
      ' ',
      '*',
      '=',
      '%',
      '%0',
      '%FF',
      '\r',
      'A',
      '0',
      'STATUS',
      'WRITE',
      'CONFIG',
      'HELLO',
      'more=1',
      'v=1',
      '\x00',
      '\xff',
      'x'.repeat(300),
    ];
    for (let i = 0; i < 3000; i++) {
      let line = '';
      for (let n = Math.floor(random() * 12); n > 0; n--) line += pieces[Math.floor(random() * pieces.length)];
      if (random() < 0.3)
        line = `>${Math.floor(random() * 65536)
          .toString(16)
          .toUpperCase()
          .padStart(4, '0')} ${line}`;
      if (random() < 0.5) line = `${line} *${crcHex(line)}`;
      port.write(Buffer.from(`${line}\n`, 'latin1'));
    }
    const client = createDeviceClient(port, { timeoutMs: 2000 });
    try {
      assert.deepEqual(await client.storageStatus(), { state: 'empty' });
      assert.equal((await client.identity()).hardwareSerial, 'CREF-FUZZ');
    } finally {
      await client.close();
    }
  });

  test('the station provisions it to PASS over its PTY', async () => {
    const d = await device({ serial: 'CREF-0004', mac: 'A4:CF:12:0B:9E:04' });
    const run = await provision(d.path, 'CREF-0004');
    assert.equal(run.summary.passed, 1, JSON.stringify(run.fixture.failure));
    const { status, identity } = await readDevice(d.path);
    assert.equal(status.state, 'locked');
    assert.equal(identity.deviceId, deriveDeviceId('CREF-0004'));
    assert.equal(identity.mac, 'A4:CF:12:0B:9E:04');
    assert.ok(run.steps.includes('write-config:ok'));
    // The host build keeps its OTP in a file: the secret the device holds is the one the core accepts.
    const secret = readFileSync(d.otpFile).subarray(1, 45).toString('ascii');
    assert.ok(status.state === 'locked' && status.digest === secretDigest(secret));
    const core = await EmbeddedPairingCore.open({ dataDir: embeddedCoreDir(run.dir) });
    try {
      assert.equal((await core.getInfo('plant1', deriveDeviceId('CREF-0004'), secret)).status, 'pending');
    } finally {
      await core.close();
    }
  });

  test('with max=128 the station sends CONFIG in parts and the device passes', async () => {
    const d = await device({ serial: 'CREF-0005', max: 128 });
    // The whole CONFIG of this station takes about 150 bytes: it can only have arrived in parts.
    const run = await provision(d.path, 'CREF-0005');
    assert.equal(run.summary.passed, 1, JSON.stringify(run.fixture.failure));
    assert.equal((await readDevice(d.path)).identity.deviceId, deriveDeviceId('CREF-0005'));
  });

  test('with max=128 and a pairing URL no CONFIG part can carry, the station refuses it before registering or writing', async () => {
    const d = await device({ serial: 'CREF-0006', max: 128 });
    const run = await provision(d.path, 'CREF-0006', { pairingUrl: `https://pairing.example.com/${'p'.repeat(100)}` });
    assert.equal(run.summary.failed, 1);
    assert.equal(run.fixture.failure?.code, 'UNSUPPORTED_DEVICE');
    assert.match(run.fixture.failure?.message ?? '', /CONFIG cannot be split into frames of 128 bytes/);
    assert.ok(!run.steps.some((s) => s.startsWith('register') || s.startsWith('write-secret')), run.steps.join(' '));
    assert.deepEqual((await readDevice(d.path)).status, { state: 'empty' });
    assert.equal(existsSync(d.otpFile), false, 'the OTP was never programmed');
  });
});
