// The station as a whole: parallel fixtures that do not block each other, a simulated line whose
// counters agree with the audit trail, secrets that never reach the trail, the logs or station.db,
// and a real PTY fixture driven by a keyboard-wedge scan.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import pino from 'pino';
import type { FixtureState } from '../../src/api/station-api.ts';
import { REDACTED_PATHS } from '../../src/common/logger.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { DeviceError } from '../../src/serial/device-error.ts';
import type { DeviceClient } from '../../src/serial/device-types.ts';
import { closePort, openDevicePort } from '../../src/serial/ports.ts';
import { createInProcessDevice, type InProcessDevice } from '../../src/sim/in-process-device.ts';
import { spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { createPtyPair } from '../../src/sim/pty-pair.ts';
import { emitScans } from '../../src/sim/scanner-simulator.ts';
import { type DeviceSource, FixtureRunner } from '../../src/station/fixture-runner.ts';
import { ensureEmbeddedRealm } from '../../src/station/pairing-setup.ts';
import type { ProvisionResult } from '../../src/station/provisioning-workflow.ts';
import { Station } from '../../src/station/station.ts';
import { defaultStationConfig, type StationConfig } from '../../src/station/station-config.ts';
import { FAST_CLIENT, openHarness, REALM, RecordingPairing, tempDir } from './station-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A device that answers nothing until the test says so. */
function stalledDevice(): { client: DeviceClient; release: () => void } {
  let release!: () => void;
  const stalled = new Promise<never>((_, reject) => {
    release = () => reject(new DeviceError('TIMEOUT', 'No valid reply to IDENTITY'));
  });
  stalled.catch(() => {});
  const never = () => stalled;
  return {
    client: {
      hello: never,
      identity: never,
      storageStatus: never,
      writeSecret: never,
      lock: never,
      writeConfig: never,
      close: async () => {},
    },
    release,
  };
}

test('parallel fixtures are independent: a stalled and an unplugged device never hold up the others', async () => {
  const h = await openHarness();
  const opened: InProcessDevice[] = [];
  const stall = stalledDevice();
  let n = 0;
  const source = (kind: 'good' | 'stalled' | 'unplugged', limit: number): DeviceSource => {
    let given = 0;
    return {
      simulated: true,
      async next() {
        if (given++ >= limit) return undefined;
        if (kind === 'stalled') return { client: stall.client, release: async () => {} };
        const serial = `PAR-${kind}-${++n}`;
        const dev = await createInProcessDevice({
          hardwareSerial: serial,
          writeLatencyMs: 5,
          clientOpts: FAST_CLIENT,
          faults: kind === 'unplugged' ? { disconnectMidWrite: true } : undefined,
        });
        opened.push(dev);
        return { client: dev.client, labelText: serial, release: async () => dev.close() };
      },
      async close() {},
    };
  };
  const results = new Map<string, ProvisionResult[]>();
  const states = new Map<string, FixtureState>();
  const runner = (id: string, src: DeviceSource) =>
    new FixtureRunner({
      id,
      source: src,
      workflow: h.workflow,
      needsScan: false,
      jobContext: () => ({ operator: 'ann' }),
      claim: () => true,
      onState: (s) => states.set(id, s),
      onResult: (r) => results.set(id, [...(results.get(id) ?? []), r]),
    });
  const abort = new AbortController();
  const loops = [
    runner('stalled', source('stalled', 1)).run(abort.signal),
    runner('unplugged', source('unplugged', 1)).run(abort.signal),
    runner('good-1', source('good', 6)).run(abort.signal),
    runner('good-2', source('good', 6)).run(abort.signal),
  ];
  try {
    await waitFor(
      'the good fixtures',
      () => (results.get('good-1')?.length ?? 0) === 6 && (results.get('good-2')?.length ?? 0) === 6,
    );
    assert.ok(
      [...(results.get('good-1') ?? []), ...(results.get('good-2') ?? [])].every((r) => r.outcome === 'pass'),
      'every device on the healthy fixtures passed',
    );
    assert.equal(states.get('stalled')?.step, 'identify', 'the stalled fixture is still waiting for its device');
    await waitFor('the unplugged fixture', () => results.has('unplugged'));
    assert.equal(results.get('unplugged')![0].failure?.code, 'DEVICE_DISCONNECTED');
    stall.release();
    await waitFor('the stalled fixture', () => results.has('stalled'));
    assert.equal(results.get('stalled')![0].failure?.code, 'DEVICE_TIMEOUT');
  } finally {
    abort.abort();
    stall.release();
    await Promise.all(loops);
    for (const d of opened) await d.close();
    await h.close();
  }
});

test('a simulated line: counters match the audit trail, the chain verifies, and no secret leaks anywhere', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const config: StationConfig = { ...defaultStationConfig(), stationId: 'sim-station', realm: REALM };
  const core = await EmbeddedPairingCore.open({ dataDir: join(dir, 'pairing') });
  await ensureEmbeddedRealm(core, dir, config);
  const pairing = new RecordingPairing(core);
  let logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  const station = await Station.open({
    dataDir: dir,
    config,
    pairing,
    simulate: {
      fixtures: 3,
      inProcess: true,
      faultRate: 0.4,
      seed: 11,
      writeLatencyMs: 2,
      faults: ['label-swap', 'pre-written', 'unplug-mid-write', 'noisy-line'],
    },
    clientOpts: { timeoutMs: 100, writeTimeoutMs: 500, retries: 5, logger },
    operator: 'ann',
    maxDevices: 24,
    logger,
  });
  try {
    const batch = await station.openBatch('WO-77');
    const events: string[] = [];
    station.subscribe((e) => events.push(e.type));
    await station.start();
    await station.whenIdle();
    const s = station.summary();
    assert.equal(s.done, 24);
    assert.equal(s.passed + s.failed, 24);
    assert.ok(s.passed > 0 && s.failed > 0, `a mix of pass and fail: ${JSON.stringify(s)}`);
    assert.ok(events.includes('fixture') && events.includes('counters') && events.includes('audit'));
    assert.ok(station.status().fixtures.every((f) => f.simulated));
    const records = station.audit.query({ batchId: batch.id, step: 'record', limit: 1000 });
    assert.equal(records.length, 24);
    assert.equal(records.filter((r) => r.outcome === 'ok').length, s.passed);
    const closed = await station.closeBatch();
    assert.equal(closed.summary?.passed, s.passed);
    assert.equal(closed.summary?.failed, s.failed);
    assert.deepEqual(closed.summary?.failuresByCode, s.failuresByCode);
    assert.equal(station.audit.verify().ok, true);
    assert.equal(station.vault.pending().length, 0, 'no write-ahead record left behind');

    assert.ok(pairing.secrets.length >= s.passed);
    const exported = station.audit.export({ format: 'jsonl' });
    await station.close();
    const dbBytes = Buffer.concat(
      readdirSync(dir)
        .filter((f) => f.startsWith('audit.db') || f.startsWith('station.db'))
        .map((f) => readFileSync(join(dir, f))),
    );
    assert.ok(logs.length > 0, 'debug logs were captured');
    for (const secret of pairing.secrets) {
      assert.equal(logs.includes(secret), false, 'a secret reached the logs');
      assert.equal(exported.includes(secret), false, 'a secret reached the audit export');
      assert.equal(dbBytes.includes(Buffer.from(secret)), false, 'a secret reached audit.db or station.db');
    }
  } finally {
    await station.close();
    await core.close();
  }
});

test('a real PTY fixture waits for a keyboard-wedge scan, then provisions the device', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const device = await spawnPtyDevice({ hardwareSerial: 'PTY-WEDGE-1', storageFile: join(dir, 'device.json') });
  const config: StationConfig = {
    ...defaultStationConfig(),
    stationId: 'pty-station',
    realm: REALM,
    requireScan: true,
    fixtures: [{ id: 'bay-1', devicePort: device.path }],
  };
  const station = await Station.open({ dataDir: dir, config, operator: 'bob', maxDevices: 1 });
  try {
    await assert.rejects(station.submitScan('PTY-WEDGE-1'), { code: 'NO_FIXTURE_WAITING' });
    await station.start();
    await waitFor('the fixture to wait for a scan', () => station.fixtures()[0]?.step === 'waiting-scan');
    await station.submitScan('PTY-WEDGE-1');
    await station.whenIdle();
    const s = station.summary();
    assert.equal(s.passed, 1, JSON.stringify(station.fixtures()[0].failure));
    const image = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8'));
    assert.equal(image.otp.state, 'locked');
    assert.equal(image.config.realm, REALM);
  } finally {
    await station.close();
    await device.stop();
  }
});

test('a fixture with its own serial scanner (PTY): a swapped label fails LABEL_MISMATCH, the right one passes', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const device = await spawnPtyDevice({ hardwareSerial: 'PTY-SCAN-1', storageFile: join(dir, 'device.json') });
  const scanner = await createPtyPair({ name: 'scanner' });
  const config: StationConfig = {
    ...defaultStationConfig(),
    stationId: 'scan-station',
    realm: REALM,
    fixtures: [{ id: 'bay-1', devicePort: device.path, scannerPort: scanner.stationPath }],
  };
  const station = await Station.open({ dataDir: dir, config, operator: 'cy', maxDevices: 2 });
  const gun = await openDevicePort(scanner.devicePath, { baudRate: 9600 });
  try {
    await station.start();
    await waitFor('the fixture to wait for a scan', () => station.fixtures()[0]?.step === 'waiting-scan');
    await emitScans(gun, ['PTY-SCAN-2']);
    await waitFor('the first result', () => station.summary().done === 1);
    assert.equal(station.fixtures()[0].failure?.code, 'LABEL_MISMATCH');
    await waitFor('the fixture to wait again', () => station.fixtures()[0]?.step === 'waiting-scan');
    await emitScans(gun, ['PTY-SCAN-1']);
    await station.whenIdle();
    assert.equal(station.summary().passed, 1, JSON.stringify(station.fixtures()[0].failure));
    assert.equal(JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8')).otp.state, 'locked');
  } finally {
    await closePort(gun);
    await station.close();
    await scanner.close();
    await device.stop();
  }
});
