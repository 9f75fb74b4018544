// The pairing store on SQLite (better-sqlite3), the embedded default: one file in WAL mode, and a
// write is acknowledged only once the WAL holding it is fdatasynced (off the event loop: db/wal-sync.ts),
// so it survives power loss; group commit so durability costs one fsync per batch of requests. The core's audit chain is rows of this database,
// sealed in the write it records (store/sqlite-core-audit.ts).
import { dirname } from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Migration } from '../../db/migrations.ts';
import { sqlFileMigrations } from '../../db/migrations.ts';
import { migrateSqlite, openSqlite, type SqliteDatabase, SqliteWriter, sqliteSchemaVersion } from '../../db/sqlite.ts';
import type { ClaimStore } from '../claims/claim-store.ts';
import type { SignStore } from '../foundries/sign-store.ts';
import type { CentralAuditStore } from '../import/central-audit-store.ts';
import type { ImportStore } from '../import/import-store.ts';
import type { CertificateStore, DeviceStore, PairingStore, RealmStore, StoreHealth } from '../pairing-store.ts';
import { sqliteClaimStore } from './sqlite-claims.ts';
import { carryOverCoreTrail, SqliteCoreAudit } from './sqlite-core-audit.ts';
import type { DeviceRowCache } from './sqlite-device-cache.ts';
import { SqliteDeviceRows, sqliteCertificateStore, sqliteDeviceStore, sqliteRealmStore } from './sqlite-devices.ts';
import { sqliteCentralAuditStore, sqliteImportStore } from './sqlite-imports.ts';
import { sqliteSignStore } from './sqlite-signs.ts';
import { instrument, StoreMetrics } from './store-metrics.ts';

export const PAIRING_SQLITE_FILE = 'pairing.sqlite';
const WHAT = 'pairing database';
/** The schema version that holds the core's audit chain (008-core-audit-chain.sql). */
const CORE_AUDIT_VERSION = 8;

/** The numbered migrations of the SQLite pairing store, `migrations/sqlite/NNN-name.sql`. */
export function sqliteMigrations(): Migration[] {
  return sqlFileMigrations(new URL('../migrations/sqlite/', import.meta.url));
}

const passThrough = (e: unknown) => e;

export class SqlitePairingStore implements PairingStore {
  readonly engine = 'sqlite' as const;
  readonly realms: RealmStore;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly claims: ClaimStore;
  readonly signs: SignStore;
  readonly imports: ImportStore;
  readonly centralAudit: CentralAuditStore;
  /** The core's audit chain, in this database (migration 008). */
  readonly coreAudit: SqliteCoreAudit;
  readonly #db: SqliteDatabase;
  readonly #writer: SqliteWriter;
  readonly #metrics = new StoreMetrics();
  /** /health asks on every probe: prepared once. */
  readonly #ping: Statement<[], unknown>;
  readonly #deviceCache: DeviceRowCache;
  #closed = false;

  /** Opens (creating and migrating) the store in `file`; `upTo` stops at an older schema version (tests). */
  static open(file: string, opts: { upTo?: number } = {}): SqlitePairingStore {
    const db = openSqlite(file, { foreignKeys: true });
    try {
      const version = migrateSqlite(db, sqliteMigrations(), WHAT, opts.upTo);
      if (version >= CORE_AUDIT_VERSION) carryOverCoreTrail(db, dirname(file));
    } catch (e) {
      db.close();
      throw e;
    }
    return new SqlitePairingStore(db);
  }

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#ping = db.prepare<[], unknown>('SELECT 1');
    this.#writer = new SqliteWriter(db, WHAT, { syncOffLoop: db.name });
    const rows = new SqliteDeviceRows(db);
    this.#deviceCache = rows.cache;
    const m = this.#metrics;
    this.coreAudit = new SqliteCoreAudit(db, this.#writer);
    this.realms = instrument('realms', sqliteRealmStore(rows, this.#writer), m, passThrough);
    this.devices = instrument('devices', sqliteDeviceStore(rows, this.#writer), m, passThrough);
    this.certificates = instrument('certificates', sqliteCertificateStore(rows), m, passThrough);
    this.claims = instrument('claims', sqliteClaimStore(db, rows, this.#writer, this.coreAudit), m, passThrough);
    this.signs = instrument('signs', sqliteSignStore(db, rows, this.#writer, this.coreAudit), m, passThrough);
    this.imports = instrument('imports', sqliteImportStore(db, rows, this.#writer), m, passThrough);
    this.centralAudit = instrument('centralAudit', sqliteCentralAuditStore(db, this.#writer), m, passThrough);
  }

  durability(): string {
    return this.#writer.durability();
  }

  journalMode(): string {
    return String(this.#db.pragma('journal_mode', { simple: true })).toUpperCase();
  }

  async schemaVersion(): Promise<number> {
    return sqliteSchemaVersion(this.#db);
  }

  /** Committed batches and the writes they carried (group commit at work). */
  commitStats(): { batches: number; writes: number } {
    return this.#writer.stats();
  }

  async health(): Promise<StoreHealth> {
    const start = performance.now();
    let h: StoreHealth;
    try {
      this.#ping.get();
      const failure = this.#writer.failure();
      h = failure
        ? { ok: false, latencyMs: performance.now() - start, error: failure }
        : { ok: !this.#closed, latencyMs: performance.now() - start };
    } catch (e) {
      h = { ok: false, latencyMs: performance.now() - start, error: (e as Error).message };
    }
    this.#metrics.lastHealth = h;
    return h;
  }

  metricsText(): string {
    // Group commit figures are imprint_pairing_store_commits_total / _writes_total (commitStats).
    const wal = this.#writer.checkpointStats();
    const cache = this.#deviceCache.stats();
    return this.#metrics.render('sqlite', [
      {
        name: 'imprint_pairing_store_device_cache_hits_total',
        help: 'Device rows for requests (secret checks, info) the cache still held, unchanged since they were read.',
        type: 'counter',
        value: cache.hits,
      },
      {
        name: 'imprint_pairing_store_device_cache_misses_total',
        help: 'Device rows for requests read from the database (first read, or changed since).',
        type: 'counter',
        value: cache.misses,
      },
      {
        name: 'imprint_pairing_store_device_cache_version_checks_total',
        help: "Cached device reads that checked PRAGMA data_version for another connection's commit (only after a commit moved the WAL-index when the native addon maps it).",
        type: 'counter',
        value: cache.versionReads,
      },
      ...(wal
        ? [
            {
              name: 'imprint_pairing_store_wal_checkpoints_total',
              help: 'WAL checkpoints run on their own thread, off the event loop.',
              type: 'counter' as const,
              value: wal.checkpoints,
            },
            {
              name: 'imprint_pairing_store_wal_checkpoint_thread_up',
              help: '1 while checkpoints run on their own thread; 0 once commits checkpoint by themselves again (the thread failed).',
              type: 'gauge' as const,
              value: wal.fallback === undefined ? 1 : 0,
            },
          ]
        : []),
    ]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
    this.#db.close();
  }
}
