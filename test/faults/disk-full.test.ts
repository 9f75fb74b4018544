// A full disk stops the line once instead of failing device after device. Two ways: a real 2 MB
// tmpfs under `imprint station run` (root only: mounting needs it), and an injected SQLITE_FULL /
// ENOSPC at each station-side step in turn (everywhere). Each ends the same: zero devices FAILED,
// one paused state, the line resumes once space is back, every step is in the trail and the
// trail verifies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { ImprintError } from '../../src/common/errors.ts';
import type { Station } from '../../src/station/station.ts';
import { assertNothingLost, imprint, lineLog, openSimulatedStation, tempDir } from './fault-harness.ts';

const dirs: string[] = [];
const mounts: string[] = [];
after(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {}
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(prefix = 'imprint-diskfull-'): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

const sqliteFull = () => new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** Where a full disk is injected: the station-side steps of the workflow, each in turn. */
const SITES: Record<string, (station: Station, full: () => boolean) => void> = {
  'audit trail commit (SQLITE_FULL)': (station, full) => {
    const append = station.audit.append.bind(station.audit);
    station.audit.append = (e) =>
      full()
        ? Promise.reject(new ImprintError('AUDIT_WRITE_FAILED', 'audit trail write failed', { cause: sqliteFull() }))
        : append(e);
  },
  'write-ahead record (ENOSPC)': (station, full) => {
    const insert = station.db.insertVaultRecord.bind(station.db);
    station.db.insertVaultRecord = (row) =>
      full()
        ? Promise.reject(new ImprintError('VAULT_WRITE_FAILED', 'write-ahead record not stored', { cause: enospc() }))
        : insert(row);
  },
  'registry entry after the device confirmed the write (SQLITE_FULL)': (station, full) => {
    const confirm = station.db.confirmWritten.bind(station.db);
    station.db.confirmWritten = (id, row) => {
      if (full()) throw sqliteFull();
      confirm(id, row);
    };
  },
  'registry marks the device provisioned (SQLITE_FULL)': (station, full) => {
    const mark = station.db.markProvisioned.bind(station.db);
    station.db.markProvisioned = (id, at) => {
      if (full()) throw sqliteFull();
      mark(id, at);
    };
  },
  'stale records wiped before registering (SQLITE_FULL)': (station, full) => {
    const wipe = station.db.deleteVaultRecordsForDevice.bind(station.db);
    station.db.deleteVaultRecordsForDevice = (id) => {
      if (full()) throw sqliteFull();
      return wipe(id);
    };
  },
  'embedded pairing core commit (SQLITE_FULL)': (station, full) => {
    const register = station.pairing.registerDevice.bind(station.pairing);
    station.pairing.registerDevice = (realm, id, o) =>
      full()
        ? Promise.reject(
            new ImprintError('STORE_WRITE_FAILED', 'The pairing database could not commit the write', { cause: sqliteFull() }),
          )
        : register(realm, id, o);
  },
};

/** A simulated line whose disk fills at `site` after two devices, then has room again. */
async function fullDiskAt(site: keyof typeof SITES): Promise<void> {
  const inject = SITES[site];
  const COUNT = 8;
  const log = lineLog();
  const station = await openSimulatedStation({ dir: dir(), count: COUNT, log });
  let full = false;
  let filled = false;
  // The disk fills once, after the first devices are through (at least 2: one event may count two fixtures).
  station.on('counters', (e) => {
    if (e.type === 'counters' && e.counters.done >= 2 && !filled) full = filled = true;
  });
  // A registration started while the line is paused for a full disk is exactly the fault we guard against.
  let registeredWhileFull = 0;
  const register = station.pairing.registerDevice.bind(station.pairing);
  station.pairing.registerDevice = async (...a) => {
    const duringPause = station.status().linePause !== undefined;
    const r = await register(...a);
    if (duringPause && full) registeredWhileFull++;
    return r;
  };
  inject(station, () => full);
  try {
    await station.start();
    const pause = await log.paused();
    assert.equal(pause.code, 'STATION_STORAGE_FULL');
    assert.match(pause.message, /storage full/i);
    assert.equal(station.status().linePause?.code, 'STATION_STORAGE_FULL', 'the API shows the paused line');
    await log.retriesFailed(2);
    assert.equal(station.summary().failed, 0, 'no device failed while paused');
    assert.equal(registeredWhileFull, 0, 'nothing registered while the station could not record');
    full = false; // space freed
    await station.whenIdle();
    await station.stop();
    assert.equal(log.count('paused'), 1, 'one paused state');
    assert.equal(log.count('resumed'), 1);
    assert.equal(station.status().linePause, undefined);
    assertNothingLost(station, COUNT);
    const resume = station.audit.query({ step: 'line-resume' });
    assert.equal(resume.length, 1, 'the pause is in the trail');
    assert.equal(resume[0].data?.code, 'STATION_STORAGE_FULL');
  } finally {
    await station.close();
  }
}

for (const site of Object.keys(SITES)) {
  test(`injected full disk at the ${site}: one pause, zero FAILED, resumes, nothing lost`, () => fullDiskAt(site));
}

test('a real 2 MB tmpfs: `station run` pauses once with "station storage full", resumes when space is freed', async (t) => {
  const isRoot = process.getuid?.() === 0;
  const mnt = dir('imprint-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
    mounts.push(mnt);
  } catch (e) {
    // Without root there is no tmpfs to mount: the injected faults above cover the same paths.
    if (isRoot) assert.fail(`running as root but could not mount a 2 MB tmpfs on ${mnt}: ${(e as Error).message}`);
    t.diagnostic('not root: no tmpfs can be mounted here, so the disk fills by injection instead');
    await fullDiskAt('audit trail commit (SQLITE_FULL)');
    return;
  }
  const data = join(mnt, 'data');
  mkdirSync(data);
  // Simulated devices keep their own storage files; a real device's storage is not on the station's
  // disk, so theirs lives elsewhere and only the station's files fill the tmpfs.
  const simStorage = dir('imprint-sim-storage-');
  symlinkSync(simStorage, join(data, 'simulated'));

  const COUNT = 30;
  let grown = false;
  const run = imprint(
    ['station', 'run', '--simulate', '2', '--count', String(COUNT), '--json', '--data', data, '--operator', 'qa'],
    {
      onStderr: (err) => {
        // Free space once the pause has been told and a few retries have failed.
        if (!grown && err.includes('LINE PAUSED')) {
          grown = true;
          setTimeout(() => execFileSync('mount', ['-o', 'remount,size=64m', mnt]), 3000);
        }
      },
    },
  );
  const r = await run;
  assert.ok(grown, `the line paused:\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.failed, 0, JSON.stringify(summary.failuresByCode));
  assert.equal(summary.passed, COUNT);
  assert.equal(summary.pauses, 1, 'one paused state');
  assert.equal(r.stderr.match(/LINE PAUSED/g)?.length, 1, `told once:\n${r.stderr}`);
  assert.match(r.stderr, /Station storage full/);
  assert.match(r.stderr, /line resumed after/);
  assert.doesNotMatch(r.stderr, /audit event not written|"level":50/, 'no flood of errors');

  const verify = await imprint(['audit', 'verify', '--data', data]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const status = await imprint(['station', 'status', '--json', '--data', data]);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(JSON.parse(status.stdout).pending, []);
});
