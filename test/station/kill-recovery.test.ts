// kill -9 at random points, many times: the station runs as a child process (`imprint station run
// --config`) against PTY device simulators that this test owns (with storage files, so each device
// outlives every station process), and is killed at seeded random moments. Finished devices are
// swapped for fresh ones between rounds. At the end: the audit chain verifies, no write-ahead
// record is left, and every device is either fully provisioned (its digest is the one the station
// recorded, the core has it registered and was not re-registered after the write) or holds no
// secret at all (a clean failure) — never a secret the system does not know.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { type PtyDevice, spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { StationDb } from '../../src/station/station-db.ts';
import { tempDir } from './station-harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURES = 3;
const ROUNDS = 8;
const REALM = 'killtest';

const dir = tempDir('imprint-kill-');
const children = new Set<ChildProcess>();
const devices: PtyDevice[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of devices) await d.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  /** Resolves when the station has opened its databases and is about to start (or has exited). */
  ready: Promise<void>;
  done: Promise<{ code: number | null; signal: string | null; out: string }>;
}

function station(args: string[]): Run {
  const child = spawn(process.execPath, [join(ROOT, 'bin/imprint.mjs'), 'station', ...args, '--data', join(dir, 'data')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'error' },
  });
  children.add(child);
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
    if (out.includes('station kill-station:')) onReady();
  });
  child.once('exit', () => onReady());
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, out });
    }),
  );
  return { child, ready, done };
}

interface SimDevice {
  serial: string;
  storageFile: string;
}

function image(d: SimDevice): { otp: { state: string; digest?: string }; config?: { deviceId: string } } | undefined {
  if (!existsSync(d.storageFile)) return undefined;
  return JSON.parse(readFileSync(d.storageFile, 'utf8'));
}

test('kill -9 at random points loses nothing and leaves no unknown secret on any device', { timeout: 240_000 }, async (t) => {
  const random = seededRandom(20261123);
  const all: SimDevice[] = [];
  const current: SimDevice[] = [];
  let made = 0;
  const newDevice = (): SimDevice => {
    const d = { serial: `KILL-${++made}`, storageFile: join(dir, `dev-${made}.json`) };
    all.push(d);
    return d;
  };
  for (let i = 0; i < FIXTURES; i++) {
    const d = newDevice();
    current.push(d);
    // Slow OTP programming widens the window in which a kill lands mid-write.
    devices.push(await spawnPtyDevice({ hardwareSerial: d.serial, storageFile: d.storageFile, writeLatencyMs: 150 + i * 100 }));
  }
  const configFile = join(dir, 'station.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      stationId: 'kill-station',
      realm: REALM,
      fixtures: devices.map((d, i) => ({ id: `bay-${i + 1}`, devicePort: d.path })),
    }),
  );
  const run = ['run', '--config', configFile, '--count', String(FIXTURES), '--operator', 'qa'];

  let killedMidWrite = 0;
  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const { child, ready, done } = station(run);
    await ready;
    // From "databases open" on: during recovery, registration, the write, lock, config or record.
    const delay = Math.floor(random() * 1500);
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const { signal } = await done;
    clearTimeout(timer);
    if (signal === 'SIGKILL') {
      kills++;
      for (const d of current) if (image(d)?.otp.state === 'written') killedMidWrite++;
    }
    // Swap the devices the station has shown as PASS for fresh ones, as an operator would. (A
    // device can be locked and configured yet not recorded, when the kill fell between its last
    // reply and the record: it stays, and the next run finishes it.)
    const registry = StationDb.open(join(dir, 'data', 'station.db'));
    const passed = current.map((d) => registry.device(deriveDeviceId(d.serial))?.state === 'provisioned');
    registry.close();
    for (let i = 0; i < FIXTURES; i++) {
      if (passed[i]) {
        const d = newDevice();
        current[i] = d;
        await devices[i].restart({ hardwareSerial: d.serial, storageFile: d.storageFile });
      }
    }
  }

  // A last run without a kill settles everything left, then recovery has nothing to do.
  const final = await station(run).done;
  assert.ok(final.code === 0 || final.code === 4, `final run exit ${final.code}: ${final.out}`);
  const recover = await station(['recover', '--config', configFile]).done;
  assert.equal(recover.code, 0, recover.out);
  const status = await station(['status', '--json']).done;
  const st = JSON.parse(status.out);
  assert.deepEqual(st.pending, [], 'no write-ahead record is orphaned');

  const trail = AuditTrail.open({ file: join(dir, 'data', 'audit.db'), stationId: 'kill-station', readonly: true });
  const db = StationDb.open(join(dir, 'data', 'station.db'));
  const core = await EmbeddedPairingCore.open({ dataDir: join(dir, 'data') });
  try {
    const chain = trail.verify();
    assert.equal(chain.ok, true, JSON.stringify(chain));
    let provisioned = 0;
    for (const d of all) {
      const img = image(d);
      const deviceId = deriveDeviceId(d.serial);
      const state = img?.otp.state ?? 'empty';
      if (state === 'empty') {
        // A clean outcome: no secret on the device (it failed, or was never reached).
        continue;
      }
      assert.ok(state === 'written' || state === 'locked', `${d.serial}: storage ${state}`);
      const reg = db.device(deviceId);
      assert.ok(reg, `${d.serial} holds a secret the station has no record of`);
      assert.equal(reg.digest, img!.otp.digest, `${d.serial}: the device digest is the one the station recorded`);
      const core_ = await core.showDevice(REALM, deviceId);
      assert.equal(core_.registered, true, `${d.serial} is registered in the core`);
      assert.ok(
        (core_.lastRegistrationAt ?? '') <= reg.writtenAt,
        `${d.serial} was registered again after its secret was written (${core_.lastRegistrationAt} > ${reg.writtenAt})`,
      );
      if (state === 'locked' && img!.config) {
        assert.equal(reg.state, 'provisioned', `${d.serial}: finished device recorded as provisioned`);
        assert.equal(trail.query({ hardwareSerial: d.serial, step: 'record', outcome: 'ok' }).length >= 1, true);
        provisioned++;
      }
    }
    t.diagnostic(
      `${kills} kills in ${ROUNDS} rounds, ${killedMidWrite} with a device written but not locked, ${all.length} devices, ${provisioned} provisioned`,
    );
    assert.ok(kills >= ROUNDS / 2, `most rounds were killed (${kills})`);
    assert.ok(provisioned >= FIXTURES, `at least one round of devices finished (${provisioned})`);
  } finally {
    trail.close();
    db.close();
    await core.close();
  }
});
