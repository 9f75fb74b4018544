// Shared helpers for the audit tests: temp trails, sample events, and "attacker" access to the DB.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditEventInput, ChainStatus } from '../../src/audit/audit-types.ts';

export const STATION = 'line-1';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-audit-test-'));
  // Retried: a checkpoint write already in flight when the trail closed finishes (and removes its temporary
  // file) just after, so the folder can change under the removal (ENOTEMPTY).
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }) };
}

/** Runs `fn` with a fresh temp directory, removed afterwards whatever happens. */
export async function inTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const tmp = tempDir();
  try {
    await fn(tmp.dir);
  } finally {
    tmp.cleanup();
  }
}

export function openTrail(dir: string): AuditTrail {
  return AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION });
}

/** The i-th device's events: a few workflow steps and its one `record` event. */
export function deviceEvents(i: number, batchId?: string, fail?: string): AuditEventInput[] {
  const base = {
    station: STATION,
    operator: i % 2 ? 'alice' : 'bob',
    fixture: `F${i % 4}`,
    batchId,
    deviceId: `dev-${i}`,
    hardwareSerial: `SN-${i}`,
  };
  return [
    { ...base, step: 'identify', outcome: 'ok', durationMs: 3 },
    { ...base, step: 'register', outcome: 'ok', durationMs: 12.5, data: { realm: 'test' } },
    {
      ...base,
      step: 'write-secret',
      outcome: fail ? 'fail' : 'ok',
      errorCode: fail,
      secretFingerprint: `fp1:${String(i).padStart(16, '0')}`,
    },
    fail
      ? { ...base, step: 'record', outcome: 'fail', errorCode: fail, message: `device ${i} failed, "see" log,\nline 2` }
      : { ...base, step: 'record', outcome: 'ok', durationMs: 40 },
  ];
}

/** Direct write access to the database, as an attacker with sqlite access would have (guards dropped). */
export function attacker(dir: string): Database.Database {
  const db = new Database(join(dir, 'audit.db'));
  db.exec(
    'DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete; DROP TRIGGER IF EXISTS batches_no_delete;',
  );
  return db;
}

export function entryOf(db: Database.Database, seq: number): string {
  return db.prepare('SELECT entry FROM events WHERE seq = ?').pluck().get(seq) as string;
}

export function setEntry(db: Database.Database, seq: number, entry: string): void {
  db.prepare('UPDATE events SET entry = ? WHERE seq = ?').run(entry, seq);
}

/** Appends n devices (4 events each) in one turn. */
export async function seed(trail: AuditTrail, devices: number, batchId?: string, failEvery = 0): Promise<void> {
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < devices; i++) {
    const fail = failEvery && i % failEvery === 0 ? (i % (2 * failEvery) === 0 ? 'E_DIGEST' : 'E_LABEL_MISMATCH') : undefined;
    for (const e of deviceEvents(i, batchId, fail)) all.push(trail.append(e));
  }
  await Promise.all(all);
}

/** The verdict of a status without its details (anchors reached, key ids, notes). */
export function chainOf(s: ChainStatus): Partial<ChainStatus> {
  return s.ok ? { ok: true, events: s.events, lastHash: s.lastHash } : s;
}

const BIN = new URL('../../bin/imprint.mjs', import.meta.url).pathname;

/** Runs `imprint …` as a user would (own process); `uid`: run as another user (tests running as root). */
export function imprintCli(
  args: string[],
  opts: { uid?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.IMPRINT_DATA;
    const ids = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid, env: { ...env, HOME: tmpdir() } };
    execFile(
      process.execPath,
      [BIN, ...args],
      { env, timeout: 120_000, killSignal: 'SIGKILL', ...ids },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
