// The station's own SQLite database (`<data>/station.db`): sealed write-ahead records of pending
// secrets and the registry of devices this station provisioned. Durable settings throughout:
// a record must be on disk before the device is sent its secret.
import { DbError } from '../db/db-errors.ts';
import { inlineMigrations } from '../db/migrations.ts';
import {
  migrateSqlite,
  openSqlite,
  type SqliteDatabase,
  type SqliteOpenOptions,
  SqliteWriter,
  type WalDurability,
} from '../db/sqlite.ts';
import { StationError } from './station-errors.ts';

/**
 * NORMAL survives a process crash; write-ahead records are acknowledged only once fsynced (the vault
 * writer's fdatasync of the WAL, insertVaultRecordSync's synchronous=FULL) so they also survive power
 * loss. Everything else can be lost to power loss safely: a lost wipe or registry update brings the
 * record back, and recovery settles it from the device. Deleted rows (wiped records) are overwritten
 * with zeros, not left in free pages.
 */
const STATION_DB: SqliteOpenOptions = { synchronous: 'NORMAL', secureDelete: true };

/** Numbered migrations, applied in order (PRAGMA user_version). */
const MIGRATIONS = inlineMigrations('station database', [
  `CREATE TABLE vault_records (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     device_id TEXT NOT NULL,
     hardware_serial TEXT NOT NULL,
     fixture TEXT NOT NULL,
     device_port TEXT,
     sealed BLOB NOT NULL,
     digest TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     batch_id TEXT,
     operator TEXT,
     created_at TEXT NOT NULL
   );
   CREATE INDEX vault_records_device ON vault_records(device_id);
   CREATE INDEX vault_records_digest ON vault_records(digest);
   CREATE TABLE devices (
     device_id TEXT PRIMARY KEY,
     hardware_serial TEXT NOT NULL,
     digest TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     fixture TEXT NOT NULL,
     batch_id TEXT,
     state TEXT NOT NULL CHECK (state IN ('written', 'provisioned', 'failed')),
     written_at TEXT NOT NULL,
     provisioned_at TEXT
   );
   CREATE INDEX devices_digest ON devices(digest);
   CREATE INDEX devices_serial ON devices(hardware_serial);`,
  // 2: the realm a record was registered in, whether its device is simulated (recovery settles a
  // simulated device that is gone by itself), and why recovery could not settle it yet.
  `ALTER TABLE vault_records ADD COLUMN realm TEXT;
   ALTER TABLE vault_records ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE vault_records ADD COLUMN pending_reason TEXT;
   ALTER TABLE vault_records ADD COLUMN checked_at TEXT;
   ALTER TABLE devices ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN pending_reason TEXT;
   ALTER TABLE devices ADD COLUMN checked_at TEXT;`,
]);

/** Why recovery could not settle a record yet, and when it last tried. */
export interface PendingNote {
  pendingReason?: string;
  checkedAt?: string;
}

export interface VaultRow extends PendingNote {
  id: number;
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  devicePort?: string;
  sealed: Buffer;
  digest: string;
  fingerprint: string;
  batchId?: string;
  operator?: string;
  createdAt: string;
  /** The realm it was registered in (undefined for records older than migration 2). */
  realm?: string;
  simulated: boolean;
}

/** written: the device confirmed the secret; provisioned: locked, configured, recorded; failed: QA. */
export type RegistryState = 'written' | 'provisioned' | 'failed';

export interface RegistryRow extends PendingNote {
  deviceId: string;
  hardwareSerial: string;
  digest: string;
  fingerprint: string;
  fixture: string;
  batchId?: string;
  state: RegistryState;
  writtenAt: string;
  provisionedAt?: string;
  simulated: boolean;
}

/** What a new write-ahead record holds (the rest is filled in by the database). */
export type NewVaultRow = Omit<VaultRow, 'id' | 'simulated' | keyof PendingNote> & { simulated?: boolean };
/** What confirming a write enters in the registry. */
export type WrittenDevice = Omit<RegistryRow, 'state' | 'provisionedAt' | 'simulated' | keyof PendingNote> & {
  simulated?: boolean;
};

interface RawVaultRow {
  id: number;
  device_id: string;
  hardware_serial: string;
  fixture: string;
  device_port: string | null;
  sealed: Buffer;
  digest: string;
  fingerprint: string;
  batch_id: string | null;
  operator: string | null;
  created_at: string;
  realm: string | null;
  simulated: number;
  pending_reason: string | null;
  checked_at: string | null;
}

interface RawRegistryRow {
  device_id: string;
  hardware_serial: string;
  digest: string;
  fingerprint: string;
  fixture: string;
  batch_id: string | null;
  state: RegistryState;
  written_at: string;
  provisioned_at: string | null;
  simulated: number;
  pending_reason: string | null;
  checked_at: string | null;
}

const toVault = (r: RawVaultRow): VaultRow => ({
  id: r.id,
  deviceId: r.device_id,
  hardwareSerial: r.hardware_serial,
  fixture: r.fixture,
  devicePort: r.device_port ?? undefined,
  sealed: r.sealed,
  digest: r.digest,
  fingerprint: r.fingerprint,
  batchId: r.batch_id ?? undefined,
  operator: r.operator ?? undefined,
  createdAt: r.created_at,
  realm: r.realm ?? undefined,
  simulated: r.simulated === 1,
  pendingReason: r.pending_reason ?? undefined,
  checkedAt: r.checked_at ?? undefined,
});

const toRegistry = (r: RawRegistryRow): RegistryRow => ({
  deviceId: r.device_id,
  hardwareSerial: r.hardware_serial,
  digest: r.digest,
  fingerprint: r.fingerprint,
  fixture: r.fixture,
  batchId: r.batch_id ?? undefined,
  state: r.state,
  writtenAt: r.written_at,
  provisionedAt: r.provisioned_at ?? undefined,
  simulated: r.simulated === 1,
  pendingReason: r.pending_reason ?? undefined,
  checkedAt: r.checked_at ?? undefined,
});

/** The bound parameters of a new write-ahead record. */
export const INSERT_VAULT_SQL = `INSERT INTO vault_records (device_id, hardware_serial, fixture, device_port, sealed, digest, fingerprint, batch_id, operator, created_at, realm, simulated)
   VALUES (@deviceId, @hardwareSerial, @fixture, @devicePort, @sealed, @digest, @fingerprint, @batchId, @operator, @createdAt, @realm, @simulated)`;

function vaultParams(row: NewVaultRow): Record<string, unknown> {
  return {
    ...row,
    devicePort: row.devicePort ?? null,
    batchId: row.batchId ?? null,
    operator: row.operator ?? null,
    realm: row.realm ?? null,
    simulated: row.simulated ? 1 : 0,
  };
}

/**
 * Write-ahead records go through the group-committed writer that syncs off the loop (src/db/sqlite.ts):
 * the records that arrive together are inserted in one transaction (each in its own savepoint, so one
 * record's error fails only that record) on the station's connection (synchronous=NORMAL), and
 * acknowledged only after an fdatasync of station.db's WAL on libuv's pool: FULL's guarantee for every
 * acknowledged record, with no thread of our own. After a failed fdatasync nothing more is acknowledged:
 * the kernel may have dropped what it did not write, so the line stays paused until a restart.
 * SQLite's own automatic checkpoint stays on: the registry's writes commit on this connection outside
 * the writer, and they must checkpoint too.
 */
function vaultWriteFailed(e: unknown): StationError {
  // The cause keeps the SQLite or errno code: it says whether the station's disk is full.
  const cause = e instanceof DbError && e.code === 'DB_WRITE_FAILED' ? e.cause : e;
  return new StationError('VAULT_WRITE_FAILED', (cause as Error).message, { cause });
}

export class StationDb {
  readonly db: SqliteDatabase;
  private writer?: SqliteWriter;
  private readonly file: string;
  private readonly stmts;
  /** Made once: better-sqlite3 builds four wrapper functions for each transaction() call. */
  private readonly confirmTx: (vaultId: number | undefined, registry: Record<string, unknown>) => void;

  private constructor(
    db: SqliteDatabase,
    file: string,
    private readonly walSync?: WalDurability,
  ) {
    this.db = db;
    this.file = file;
    this.stmts = {
      insertVault: db.prepare(INSERT_VAULT_SQL),
      deleteVault: db.prepare('DELETE FROM vault_records WHERE id = ?'),
      deleteVaultByDevice: db.prepare('DELETE FROM vault_records WHERE device_id = ?'),
      vaultOfDevice: db.prepare('SELECT 1 FROM vault_records WHERE device_id = ? LIMIT 1'),
      vaultAll: db.prepare('SELECT * FROM vault_records ORDER BY id'),
      vaultById: db.prepare('SELECT * FROM vault_records WHERE id = ?'),
      vaultByDigest: db.prepare('SELECT * FROM vault_records WHERE digest = ? ORDER BY id DESC LIMIT 1'),
      vaultCount: db.prepare('SELECT COUNT(*) AS n FROM vault_records'),
      upsertDevice: db.prepare(
        `INSERT INTO devices (device_id, hardware_serial, digest, fingerprint, fixture, batch_id, state, written_at, simulated)
         VALUES (@deviceId, @hardwareSerial, @digest, @fingerprint, @fixture, @batchId, 'written', @writtenAt, @simulated)
         ON CONFLICT(device_id) DO UPDATE SET hardware_serial = excluded.hardware_serial, digest = excluded.digest,
           fingerprint = excluded.fingerprint, fixture = excluded.fixture, batch_id = excluded.batch_id,
           state = 'written', written_at = excluded.written_at, provisioned_at = NULL, simulated = excluded.simulated,
           pending_reason = NULL, checked_at = NULL`,
      ),
      noteVault: db.prepare('UPDATE vault_records SET pending_reason = ?, checked_at = ? WHERE id = ?'),
      noteDevice: db.prepare(`UPDATE devices SET pending_reason = ?, checked_at = ? WHERE device_id = ? AND state = 'written'`),
      markProvisioned: db.prepare(
        `UPDATE devices SET state = 'provisioned', provisioned_at = ? WHERE device_id = ? AND state = 'written'`,
      ),
      markFailed: db.prepare(`UPDATE devices SET state = 'failed' WHERE device_id = ?`),
      deviceById: db.prepare('SELECT * FROM devices WHERE device_id = ?'),
      deviceByDigest: db.prepare('SELECT * FROM devices WHERE digest = ? LIMIT 1'),
      devicesByState: db.prepare('SELECT * FROM devices WHERE state = ? ORDER BY written_at'),
      deviceCounts: db.prepare('SELECT state, COUNT(*) AS n FROM devices GROUP BY state'),
    };
    const { deleteVault, upsertDevice } = this.stmts;
    this.confirmTx = db.transaction((vaultId: number | undefined, registry: Record<string, unknown>) => {
      if (vaultId !== undefined) deleteVault.run(vaultId);
      upsertDevice.run(registry);
    });
  }

  /** `walSync`: what fsyncs the WAL of write-ahead records (default: an fdatasync of `<file>-wal`). */
  static open(file: string, opts: { walSync?: WalDurability } = {}): StationDb {
    let db: SqliteDatabase | undefined;
    try {
      db = openSqlite(file, STATION_DB);
      migrateSqlite(db, MIGRATIONS, 'station database');
      return new StationDb(db, file, opts.walSync);
    } catch (e) {
      db?.close();
      // The SQLite code stays in the cause: a damaged or full disk is told as such (line-faults.ts).
      throw new StationError('STATION_DB_UNUSABLE', `${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Durable (its WAL frames fsynced) when the promise resolves: the caller sends the secret to the
   * device next. The fsync runs on libuv's pool, off the event loop.
   */
  insertVaultRecord(row: NewVaultRow): Promise<number> {
    this.writer ??= new SqliteWriter(this.db, 'station database', {
      syncOffLoop: this.file,
      checkpointOffLoop: false,
      walSync: this.walSync,
    });
    const params = vaultParams(row);
    const insert = this.stmts.insertVault;
    return this.writer
      .write(() => Number(insert.run(params).lastInsertRowid))
      .catch((e: unknown) => {
        throw vaultWriteFailed(e);
      });
  }

  /** Commits of write-ahead records so far (one WAL fdatasync each), and the records they carried. */
  vaultCommits(): { batches: number; writes: number } {
    return this.writer?.stats() ?? { batches: 0, writes: 0 };
  }

  /** The same insert on this thread (synchronous=FULL for the one statement): tests and tools. */
  insertVaultRecordSync(row: NewVaultRow): number {
    this.db.pragma('synchronous = FULL');
    try {
      const r = this.stmts.insertVault.run(vaultParams(row));
      return Number(r.lastInsertRowid);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  deleteVaultRecord(id: number): void {
    this.stmts.deleteVault.run(id);
  }

  /** Stale records for a device (its storage turned out empty): wiped before a new registration. */
  deleteVaultRecordsForDevice(deviceId: string): number {
    // Almost always none: a read costs no write transaction (nor WAL frames).
    if (this.stmts.vaultOfDevice.get(deviceId) === undefined) return 0;
    return this.stmts.deleteVaultByDevice.run(deviceId).changes;
  }

  vaultRecords(): VaultRow[] {
    return (this.stmts.vaultAll.all() as RawVaultRow[]).map(toVault);
  }

  vaultRecord(id: number): VaultRow | undefined {
    const r = this.stmts.vaultById.get(id) as RawVaultRow | undefined;
    return r && toVault(r);
  }

  vaultRecordByDigest(digest: string): VaultRow | undefined {
    const r = this.stmts.vaultByDigest.get(digest) as RawVaultRow | undefined;
    return r && toVault(r);
  }

  vaultCount(): number {
    return (this.stmts.vaultCount.get() as { n: number }).n;
  }

  /**
   * The device confirmed the write: in one transaction, wipe its write-ahead record and enter it in
   * the registry as written (the secret is no longer needed, only its digest).
   */
  confirmWritten(vaultId: number | undefined, row: WrittenDevice): void {
    this.confirmTx(vaultId, { ...row, batchId: row.batchId ?? null, simulated: row.simulated ? 1 : 0 });
  }

  /** Recovery could not settle this record: say why, for `station status`. */
  notePendingRecord(id: number, reason: string, at: string): void {
    this.stmts.noteVault.run(reason, at, id);
  }

  /** Recovery could not finish this confirmed device: say why, for `station status`. */
  notePendingDevice(deviceId: string, reason: string, at: string): void {
    this.stmts.noteDevice.run(reason, at, deviceId);
  }

  markProvisioned(deviceId: string, at: string): void {
    this.stmts.markProvisioned.run(at, deviceId);
  }

  /** A confirmed device whose storage later disagreed (reset, swapped): kept for QA, not finished. */
  markFailed(deviceId: string): void {
    this.stmts.markFailed.run(deviceId);
  }

  device(deviceId: string): RegistryRow | undefined {
    const r = this.stmts.deviceById.get(deviceId) as RawRegistryRow | undefined;
    return r && toRegistry(r);
  }

  deviceByDigest(digest: string): RegistryRow | undefined {
    const r = this.stmts.deviceByDigest.get(digest) as RawRegistryRow | undefined;
    return r && toRegistry(r);
  }

  devicesInState(state: RegistryState): RegistryRow[] {
    return (this.stmts.devicesByState.all(state) as RawRegistryRow[]).map(toRegistry);
  }

  deviceCounts(): Record<RegistryState, number> {
    const out: Record<RegistryState, number> = { written: 0, provisioned: 0, failed: 0 };
    for (const r of this.stmts.deviceCounts.all() as { state: RegistryState; n: number }[]) out[r.state] = r.n;
    return out;
  }

  close(): void {
    // Commits what is queued now; the WAL's descriptor closes once the fdatasync in flight is done.
    void this.writer?.close();
    this.writer = undefined;
    if (!this.db.open) return;
    try {
      // Fold the WAL back so wiped records do not linger in old WAL frames.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A full or read-only disk: the next close folds it (the WAL stays private, 0600).
    }
    this.db.close();
  }
}
