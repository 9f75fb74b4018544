// The station's sync bookkeeping, `<data>/sync.db`: the journal of registrations made offline (which
// batch, operator and time each belongs to; the secret hash itself stays in the embedded core) and,
// per remote core, what it acknowledged: each device's result for the hash sent, and the audit
// cursor. A sync cut at any point resumes from here; acknowledgements are written only after the
// remote's answer, so at worst a chunk is sent twice (harmless: the import is idempotent).
import { join } from 'node:path';
import { inlineMigrations } from '../db/migrations.ts';
import { migrateSqlite, openSqlite, type SqliteDatabase } from '../db/sqlite.ts';
import type { DeviceImportResult } from '../pairing/import/import-service.ts';

export interface OfflineRegistration {
  realm: string;
  deviceId: string;
  batch: string;
  registeredAt: string;
  operator?: string;
  hardwareSerial?: string;
}

export interface DeviceAck {
  deviceId: string;
  secretHash: string;
  result: DeviceImportResult;
  reason?: string;
}

export interface SyncConflict {
  remote: string;
  realm: string;
  deviceId: string;
  batch?: string;
  reason: string;
  at: string;
}

/**
 * Numbered migrations (src/db/migrations.ts). Version 1 is the schema files had before they were
 * versioned, written IF NOT EXISTS so such a file is adopted as version 1 with its rows.
 */
export const SYNC_STATE_MIGRATIONS = inlineMigrations('sync state', [
  `
CREATE TABLE IF NOT EXISTS offline_registrations (
  realm TEXT NOT NULL,
  device_id TEXT NOT NULL,
  batch TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  operator TEXT,
  hardware_serial TEXT,
  PRIMARY KEY (realm, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_acks (
  remote TEXT NOT NULL,
  realm TEXT NOT NULL,
  device_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT,
  at TEXT NOT NULL,
  PRIMARY KEY (remote, realm, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_acks (
  remote TEXT NOT NULL,
  realm TEXT NOT NULL,
  station TEXT NOT NULL,
  acked_seq INTEGER NOT NULL,
  acked_hash TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (remote, realm, station)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_runs (
  remote TEXT NOT NULL,
  realm TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  summary TEXT NOT NULL,
  PRIMARY KEY (remote, realm)
) WITHOUT ROWID;
`,
]);

export function syncStateFile(dataDir: string): string {
  return join(dataDir, 'sync.db');
}

export class SyncState {
  readonly #db: SqliteDatabase;
  readonly #s;

  static open(file: string): SyncState {
    return new SyncState(file);
  }

  private constructor(file: string) {
    // Durable (WAL, synchronous=FULL): the journal must survive power loss (it says which batch an offline
    // registration belongs to); an acknowledgement lost with the last transaction only means a chunk is sent again.
    const db = openSqlite(file);
    try {
      migrateSqlite(db, SYNC_STATE_MIGRATIONS, `sync state ${file}`);
    } catch (e) {
      db.close();
      throw e;
    }
    this.#db = db;
    this.#s = {
      journal: db.prepare(
        `INSERT INTO offline_registrations (realm, device_id, batch, registered_at, operator, hardware_serial)
         VALUES (@realm, @deviceId, @batch, @registeredAt, @operator, @hardwareSerial)
         ON CONFLICT (realm, device_id) DO UPDATE SET batch = excluded.batch, registered_at = excluded.registered_at,
           operator = excluded.operator, hardware_serial = excluded.hardware_serial`,
      ),
      registration: db.prepare<
        [string, string],
        { batch: string; registered_at: string; operator: string | null; hardware_serial: string | null }
      >('SELECT batch, registered_at, operator, hardware_serial FROM offline_registrations WHERE realm = ? AND device_id = ?'),
      ackedHashes: db.prepare<[string, string], { device_id: string; secret_hash: string; result: DeviceImportResult }>(
        'SELECT device_id, secret_hash, result FROM device_acks WHERE remote = ? AND realm = ?',
      ),
      putAck: db.prepare(
        `INSERT INTO device_acks (remote, realm, device_id, secret_hash, result, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (remote, realm, device_id) DO UPDATE SET secret_hash = excluded.secret_hash, result = excluded.result,
           reason = excluded.reason, at = excluded.at`,
      ),
      resolve: db.prepare(
        "UPDATE device_acks SET result = ?, reason = ?, at = ? WHERE remote = ? AND realm = ? AND device_id = ? AND result = 'conflict'",
      ),
      conflicts: db.prepare<[], { remote: string; realm: string; device_id: string; reason: string; at: string }>(
        "SELECT remote, realm, device_id, reason, at FROM device_acks WHERE result = 'conflict' ORDER BY at, device_id",
      ),
      offlineCount: db.prepare<[string], number>('SELECT count(*) FROM offline_registrations WHERE batch = ?').pluck(),
      auditAck: db.prepare<[string, string, string], { acked_seq: number; acked_hash: string }>(
        'SELECT acked_seq, acked_hash FROM audit_acks WHERE remote = ? AND realm = ? AND station = ?',
      ),
      putAuditAck: db.prepare(
        `INSERT INTO audit_acks (remote, realm, station, acked_seq, acked_hash, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (remote, realm, station) DO UPDATE SET acked_seq = excluded.acked_seq, acked_hash = excluded.acked_hash, at = excluded.at`,
      ),
      putRun: db.prepare(
        `INSERT INTO sync_runs (remote, realm, finished_at, summary) VALUES (?, ?, ?, ?)
         ON CONFLICT (remote, realm) DO UPDATE SET finished_at = excluded.finished_at, summary = excluded.summary`,
      ),
      lastRun: db.prepare<[], { remote: string; realm: string; finished_at: string; summary: string }>(
        'SELECT * FROM sync_runs ORDER BY finished_at DESC LIMIT 1',
      ),
    };
  }

  /** Journal a registration made in the embedded core while the remote was unreachable. */
  recordOffline(r: OfflineRegistration): void {
    this.#s.journal.run({ ...r, operator: r.operator ?? null, hardwareSerial: r.hardwareSerial ?? null });
  }

  /** How many registrations were made offline under a batch. */
  offlineCount(batch: string): number {
    return this.#s.offlineCount.get(batch) ?? 0;
  }

  offlineRegistration(realm: string, deviceId: string): Omit<OfflineRegistration, 'realm' | 'deviceId'> | undefined {
    const r = this.#s.registration.get(realm, deviceId);
    if (!r) return undefined;
    return {
      batch: r.batch,
      registeredAt: r.registered_at,
      operator: r.operator ?? undefined,
      hardwareSerial: r.hardware_serial ?? undefined,
    };
  }

  /** device id → the hash the remote answered for, and its answer. */
  acks(remote: string, realm: string): Map<string, { secretHash: string; result: DeviceImportResult }> {
    return new Map(
      this.#s.ackedHashes.all(remote, realm).map((r) => [r.device_id, { secretHash: r.secret_hash, result: r.result }]),
    );
  }

  recordAcks(remote: string, realm: string, acks: DeviceAck[], at: string): void {
    this.#db.transaction(() => {
      for (const a of acks) this.#s.putAck.run(remote, realm, a.deviceId, a.secretHash, a.result, a.reason ?? null, at);
    })();
  }

  /** QA resolved a conflict on the remote: it is no longer listed, nor sent again for this hash. */
  recordResolution(remote: string, realm: string, deviceId: string, keep: 'core' | 'station', at: string): boolean {
    return (
      this.#s.resolve.run(`resolved-${keep}`, `resolved: kept the ${keep}'s registration`, at, remote, realm, deviceId).changes >
      0
    );
  }

  conflicts(): SyncConflict[] {
    return this.#s.conflicts.all().map((r) => ({
      remote: r.remote,
      realm: r.realm,
      deviceId: r.device_id,
      batch: this.offlineRegistration(r.realm, r.device_id)?.batch,
      reason: r.reason,
      at: r.at,
    }));
  }

  auditAck(remote: string, realm: string, station: string): { seq: number; hash: string } | undefined {
    const r = this.#s.auditAck.get(remote, realm, station);
    return r ? { seq: r.acked_seq, hash: r.acked_hash } : undefined;
  }

  recordAuditAck(remote: string, realm: string, station: string, seq: number, hash: string, at: string): void {
    this.#s.putAuditAck.run(remote, realm, station, seq, hash, at);
  }

  recordRun(remote: string, realm: string, at: string, summary: unknown): void {
    this.#s.putRun.run(remote, realm, at, JSON.stringify(summary));
  }

  lastRun(): { remote: string; realm: string; finishedAt: string; summary: unknown } | undefined {
    const r = this.#s.lastRun.get();
    return r ? { remote: r.remote, realm: r.realm, finishedAt: r.finished_at, summary: JSON.parse(r.summary) } : undefined;
  }

  close(): void {
    this.#db.close();
  }
}
