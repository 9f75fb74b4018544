// kill -9 anywhere leaves nothing that no command can settle. A station process (`imprint station
// run`) is killed (seeded) while a device is in each kind of pending state — the write-ahead record
// durable and the device still empty (killed before or during the write), the device holding our
// secret before the station saw the confirmation, the device confirmed but not yet locked and
// configured — and at random moments. Some devices then leave the line for good (another device
// takes their fixture). `station recover` settles what the devices can tell; `--discard` and
// `--set-aside` settle the rest as audited decisions. After every round nothing is pending, and at
// the end the trail verifies and every secret on a device is one the station accounts for.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { type PtyDevice, spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';
import { StationDb } from '../../src/station/station-db.ts';
import { BIN, imprint, ROOT, tempDir } from './fault-harness.ts';

const FIXTURES = 3;
const REALM = 'killany';
const STATION = 'kill-anywhere';

const dirs: string[] = [];
const children = new Set<ChildProcess>();
const devices: PtyDevice[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of devices) await d.stop().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Kind = 'record, device empty' | 'device written, not confirmed' | 'confirmed, not finished';

interface SimDevice {
  serial: string;
  storageFile: string;
}

function image(d: SimDevice): { otp: { state: string; digest?: string } } | undefined {
  if (!existsSync(d.storageFile)) return undefined;
  try {
    return JSON.parse(readFileSync(d.storageFile, 'utf8'));
  } catch {
    return undefined; // being replaced (temp file + rename): read again at the next poll
  }
}

/** Which kind of pending state each current device is in, read from station.db and the device. */
function pendingKinds(db: Database.Database, current: SimDevice[]): Kind[] {
  const records = db.prepare('SELECT hardware_serial AS serial, digest FROM vault_records').all() as {
    serial: string;
    digest: string;
  }[];
  const confirmed = db.prepare(`SELECT hardware_serial AS serial FROM devices WHERE state = 'written'`).all() as {
    serial: string;
  }[];
  const kinds: Kind[] = [];
  for (const d of current) {
    const rec = records.find((r) => r.serial === d.serial);
    const otp = image(d)?.otp;
    if (rec && (!otp || otp.state === 'empty')) kinds.push('record, device empty');
    else if (rec && otp?.digest === rec.digest) kinds.push('device written, not confirmed');
    else if (confirmed.some((c) => c.serial === d.serial)) kinds.push('confirmed, not finished');
  }
  return kinds;
}

function stationRun(data: string, configFile: string): { child: ChildProcess; ready: Promise<void>; done: Promise<string> } {
  const child = spawn(
    process.execPath,
    [BIN, 'station', 'run', '--config', configFile, '--count', String(FIXTURES), '--operator', 'qa', '--data', data],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IMPRINT_LOG_LEVEL: 'error' } },
  );
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
    if (out.includes(`station ${STATION}:`)) onReady();
  });
  const done = new Promise<string>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      onReady();
      resolve(out);
    }),
  );
  return { child, ready, done };
}

/** Kill the station once `db` shows `want` for a device (or at `delayMs` when no kind is wanted). */
async function killWhen(
  run: ReturnType<typeof stationRun>,
  dbFile: string,
  current: SimDevice[],
  want: Kind | { delayMs: number },
): Promise<void> {
  await run.ready;
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  if (typeof want === 'object') {
    await new Promise((r) => setTimeout(r, want.delayMs));
  } else {
    let db: Database.Database | undefined;
    try {
      while (!exited) {
        db ??= existsSync(dbFile) ? new Database(dbFile, { readonly: true, fileMustExist: true }) : undefined;
        if (db && pendingKinds(db, current).includes(want)) break;
        await new Promise((r) => setTimeout(r, 15));
      }
    } finally {
      db?.close();
    }
  }
  run.child.kill('SIGKILL');
  await run.done;
}

test('kill -9 at any point, then recover (and --discard / --set-aside where no device can tell): nothing left unsettled', {
  timeout: 840_000, // tens of kill -9 rounds: minutes on a loaded 2-core machine
}, async (t) => {
  const dir = tempDir('imprint-kill-any-');
  dirs.push(dir);
  const data = join(dir, 'data');
  const dbFile = join(data, 'station.db');
  const random = seededRandom(20261207);
  let made = 0;
  const all: SimDevice[] = [];
  const newDevice = (): SimDevice => {
    const d = { serial: `KA-${++made}`, storageFile: join(dir, `dev-${made}.json`) };
    all.push(d);
    return d;
  };
  const current: SimDevice[] = [];
  // Slow programming and slow replies: each pending state lasts long enough to be seen and killed in.
  const timing = { writeLatencyMs: 500, replyDelayMs: 200 };
  for (let i = 0; i < FIXTURES; i++) {
    const d = newDevice();
    current.push(d);
    devices.push(await spawnPtyDevice({ hardwareSerial: d.serial, storageFile: d.storageFile, ...timing }));
  }
  const configFile = join(dir, 'station.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      stationId: STATION,
      realm: REALM,
      fixtures: devices.map((d, i) => ({ id: `bay-${i + 1}`, devicePort: d.path })),
    }),
  );

  const seen = new Set<Kind>();
  const decisions = { discarded: 0, setAside: 0 };
  // Odd rounds also take a pending device off the line: one unconfirmed, one confirmed.
  const plan: (Kind | { delayMs: number })[] = [
    'record, device empty',
    'device written, not confirmed',
    'confirmed, not finished',
    'confirmed, not finished',
    { delayMs: Math.floor(random() * 3000) },
  ];
  for (const [round, want] of plan.entries()) {
    await killWhen(stationRun(data, configFile), dbFile, current, want);
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    const kinds = pendingKinds(db, current);
    db.close();
    for (const k of kinds) seen.add(k);

    // Every other round a pending device leaves the line for good: another device takes its fixture.
    if (round % 2 === 1) {
      const check = new Database(dbFile, { readonly: true, fileMustExist: true });
      const i = current.findIndex((d) => pendingKinds(check, [d]).length > 0);
      check.close();
      if (i >= 0) {
        current[i] = newDevice();
        await devices[i].restart({ hardwareSerial: current[i].serial, storageFile: current[i].storageFile });
      }
    }
    const recover = await imprint(['station', 'recover', '--config', configFile, '--data', data]);
    assert.ok(
      recover.code === 0 || recover.code === EXIT.PENDING,
      `round ${round}: recover exit ${recover.code}\n${recover.stdout}${recover.stderr}`,
    );
    if (recover.code === EXIT.PENDING) {
      // What no device can settle any more: audited decisions.
      const status = JSON.parse((await imprint(['station', 'status', '--json', '--data', data])).stdout);
      if (status.pending.length) {
        const r = await imprint([
          'station',
          'recover',
          '--config',
          configFile,
          '--data',
          data,
          '--discard',
          '--all',
          '--operator',
          'qa-lead',
        ]);
        assert.ok(r.code === 0 || r.code === EXIT.PENDING, r.stdout + r.stderr);
        assert.match(r.stdout, /Discarding gives the pending secret up/);
        decisions.discarded += status.pending.length;
      }
      if (status.unfinished.length) {
        const r = await imprint([
          'station',
          'recover',
          '--config',
          configFile,
          '--data',
          data,
          '--set-aside',
          '--all',
          '--operator',
          'qa-lead',
        ]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        decisions.setAside += status.unfinished.length;
      }
    }
    const status = await imprint(['station', 'status', '--json', '--data', data]);
    assert.equal(status.code, 0, `round ${round}: something is still pending\n${status.stdout}`);
    const st = JSON.parse(status.stdout);
    assert.deepEqual([st.pending, st.unfinished], [[], []]);

    // Devices the station has finished leave; fresh ones take their fixtures.
    const registry = StationDb.open(dbFile);
    const finished = current.map((d) => {
      const state = registry.device(deriveDeviceId(d.serial))?.state;
      return state === 'provisioned' || state === 'failed';
    });
    registry.close();
    for (let i = 0; i < FIXTURES; i++) {
      if (!finished[i]) continue;
      current[i] = newDevice();
      await devices[i].restart({ hardwareSerial: current[i].serial, storageFile: current[i].storageFile });
    }
  }
  for (const k of ['record, device empty', 'device written, not confirmed', 'confirmed, not finished'] as Kind[]) {
    assert.ok(seen.has(k), `a kill left "${k}" (seen: ${[...seen].join('; ')})`);
  }
  assert.ok(decisions.discarded + decisions.setAside > 0, 'some records needed a decision');

  const trail = AuditTrail.open({ file: join(data, 'audit.db'), stationId: STATION, readonly: true });
  const db = StationDb.open(dbFile);
  const core = await EmbeddedPairingCore.open({ dataDir: data });
  try {
    const chain = trail.verify();
    assert.equal(chain.ok, true, JSON.stringify(chain));
    const decided = trail.query({ step: 'recover', limit: 1000 }).filter((e) => e.data?.decision !== undefined);
    assert.equal(decided.length, decisions.discarded + decisions.setAside, 'each decision is in the trail');
    assert.ok(decided.every((e) => e.operator === 'qa-lead' && e.data?.automatic === false));
    for (const d of all) {
      const otp = image(d)?.otp;
      if (!otp || otp.state === 'empty') continue;
      const deviceId = deriveDeviceId(d.serial);
      const reg = db.device(deviceId);
      if (reg?.digest === otp.digest) continue; // the station accounts for it (provisioned, or set aside)
      // Otherwise its pending record was discarded by a decision, and the core no longer takes the secret.
      const discard = decided.find((e) => e.deviceId === deviceId && e.data?.decision === 'discard');
      assert.ok(discard, `${d.serial} holds a secret the station cannot account for`);
      assert.notEqual((await core.showDevice(REALM, deviceId)).status, 'confirmed');
    }
    t.diagnostic(
      `kinds seen: ${[...seen].join('; ')}; ${all.length} devices; ${decisions.discarded} discarded, ${decisions.setAside} set aside`,
    );
  } finally {
    trail.close();
    db.close();
    await core.close();
  }
});

test('the simulated line killed mid-run (--simulate 4 --write-latency 400): `station recover` settles every record by itself', async () => {
  const data = tempDir('imprint-kill-sim-');
  dirs.push(data);
  const random = seededRandom(4242);
  let goneSettled = 0;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, [BIN, 'station', 'run', '--simulate', '4', '--write-latency', '400', '--data', data], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, IMPRINT_LOG_LEVEL: 'error' },
    });
    children.add(child);
    let err = '';
    // Killed once the line is up and devices are in their write: a few seconds in.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        err += d;
        if (err.includes('done,')) resolve();
      });
      child.once('exit', () => resolve());
    });
    await new Promise((r) => setTimeout(r, Math.floor(random() * 1500)));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    children.delete(child);

    const recover = await imprint(['station', 'recover', '--json', '--data', data]);
    assert.equal(recover.code, 0, recover.stdout + recover.stderr);
    const report = JSON.parse(recover.stdout);
    assert.equal(report.kept, 0, JSON.stringify(report.items));
    const status = await imprint(['station', 'status', '--json', '--data', data]);
    assert.equal(status.code, 0);
    assert.deepEqual(JSON.parse(status.stdout).pending, []);
    // Simulated devices that are gone were settled by the station itself, each audited as such.
    const gone = report.items.filter((i: { detail: string }) => /simulated device is gone/.test(i.detail));
    goneSettled += gone.length;
    assert.ok(gone.every((i: { outcome: string }) => i.outcome === 'discarded' || i.outcome === 'failed'));
  }
  const decisions = JSON.parse((await imprint(['audit', 'query', '--step', 'recover', '--json', '--data', data])).stdout).filter(
    (e: { data?: { decision?: string } }) => e.data?.decision !== undefined,
  );
  assert.equal(decisions.length, goneSettled, 'each settlement by the station is in the trail');
  assert.ok(decisions.every((e: { data: { automatic: boolean } }) => e.data.automatic === true));
  const verify = await imprint(['audit', 'verify', '--data', data]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});
