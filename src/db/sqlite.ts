// SQLite the way every Imprint database uses it (better-sqlite3): WAL, synchronous=FULL so an
// acknowledged write survives power loss, numbered migrations recorded in PRAGMA user_version, and
// a group-committed writer where each op runs in its own savepoint of the batch's transaction.
import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../common/private-fs.ts';
import { DbError } from './db-errors.ts';
import { GroupCommit, type GroupCommitStats } from './group-commit.ts';
import { assertNotTooNew, type Migration, pendingMigrations } from './migrations.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';
import { WalSync } from './wal-sync.ts';

export type SqliteDatabase = Database.Database;

export interface SqliteOpenOptions {
  readonly?: boolean;
  /** Page size for a new file (an existing file keeps its own). */
  pageSize?: number;
  foreignKeys?: boolean;
  /**
   * FULL (default): every commit is fsynced, an acknowledged write survives power loss. NORMAL: survives
   * a process crash only, for databases whose every write can be lost safely (the station's registry).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** Deleted rows are overwritten with zeros, not left in free pages (databases that held secrets). */
  secureDelete?: boolean;
  /** Page cache in KiB (SQLite's default is 2 MiB). */
  cacheKiB?: number;
  /** WAL pages between automatic checkpoints (SQLite's default is 1,000). */
  walAutocheckpoint?: number;
  /** Open an existing file only (a worker's second connection). */
  fileMustExist?: boolean;
}

export type SqliteDurability = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/** Opens `file` with the durable settings (or read-only, for tools that only look). */
export function openSqlite(file: string, opts: SqliteOpenOptions = {}): SqliteDatabase {
  // A writer's database is private: 0700 folder, the file (and so SQLite's -wal/-shm) 0600.
  if (!opts.readonly) preparePrivateDatabase(file);
  const db = new Database(file, {
    readonly: opts.readonly ?? false,
    fileMustExist: opts.readonly || opts.fileMustExist || false,
  });
  try {
    if (!opts.readonly) {
      if (opts.pageSize) db.pragma(`page_size = ${opts.pageSize}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      if (opts.secureDelete) db.pragma('secure_delete = ON');
      if (opts.walAutocheckpoint) db.pragma(`wal_autocheckpoint = ${opts.walAutocheckpoint}`);
      if (opts.cacheKiB) db.pragma(`cache_size = -${opts.cacheKiB}`);
    }
    if (opts.foreignKeys) db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

export function sqliteSchemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function sqliteDurability(db: SqliteDatabase): SqliteDurability {
  const levels = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;
  return levels[Number(db.pragma('synchronous', { simple: true }))] ?? 'OFF';
}

/**
 * Brings the schema to `upTo` (default: the latest), one IMMEDIATE transaction per migration with the
 * version re-read inside, so two processes opening one old file at once apply each migration once.
 * Refuses a file whose version is ahead of the code. Returns the version reached.
 */
export function migrateSqlite(db: SqliteDatabase, migrations: readonly Migration[], what: string, upTo?: number): number {
  let current = checkSqliteSchema(db, migrations, what);
  for (const m of pendingMigrations(migrations, current, upTo)) {
    db.transaction(() => {
      if (sqliteSchemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    current = m.version;
  }
  return current;
}

/** The file's schema version, after checking this Imprint can read it (read-only opens do not migrate). */
export function checkSqliteSchema(db: SqliteDatabase, migrations: readonly Migration[], what: string): number {
  const current = sqliteSchemaVersion(db);
  assertNotTooNew(what, current, migrations);
  return current;
}

interface PendingOp {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** The durability of a writer with `syncOffLoop`: NORMAL commits, an fdatasync of the WAL before each acknowledgement. */
export const SYNC_OFF_LOOP = 'synchronous=NORMAL+wal-fdatasync-before-ack';

export interface SqliteWriterOptions {
  /**
   * The database's file: commit with synchronous=NORMAL and acknowledge a batch after an fdatasync of its
   * WAL on libuv's pool (wal-sync.ts), and checkpoint from a thread of its own (wal-checkpointer.ts), so
   * the event loop never blocks in fsync. Without it, commits are synchronous=FULL on the loop.
   */
  syncOffLoop?: string;
  /** With syncOffLoop: the checkpoint thread's module (tests give one that fails). */
  checkpointThread?: URL;
  /**
   * With syncOffLoop: false keeps SQLite's automatic checkpoint on the connection (default true: a thread
   * of its own). For a database that is also written directly, outside this writer: the writer's
   * checkpointer runs only after its own commits, SQLite's after every commit on the connection.
   */
  checkpointOffLoop?: boolean;
  /** With syncOffLoop: what makes the committed WAL frames durable (default: WalSync; tests give one that fails). */
  walSync?: WalDurability;
}

/** What makes committed WAL frames durable (WalSync, or a test's double). */
export type WalDurability = Pick<WalSync, 'sync' | 'close'>;

/**
 * Durable writes through group commit: `write(op)` resolves once the batch holding `op` is committed.
 * Each op runs in its own savepoint, so an op that throws rejects only its caller and leaves nothing
 * behind; the batch is one IMMEDIATE transaction (one fsync).
 */
export class SqliteWriter {
  readonly #queue: GroupCommit<PendingOp>;
  readonly #what: string;
  readonly #wal: WalDurability | undefined;
  readonly #checkpointer: WalCheckpointer | undefined;
  #closed = false;
  /** A failed WAL sync: what was committed may not be on disk, so nothing more is acknowledged. */
  #broken: unknown;

  constructor(db: SqliteDatabase, what: string, opts: SqliteWriterOptions = {}) {
    this.#what = what;
    if (opts.syncOffLoop) {
      db.pragma('synchronous = NORMAL');
      this.#wal = opts.walSync ?? new WalSync(opts.syncOffLoop);
      if (opts.checkpointOffLoop !== false) this.#checkpointer = new WalCheckpointer(db, opts.checkpointThread);
    }
    const inSavepoint = db.transaction((op: () => unknown) => op());
    const batch = db.transaction((ops: PendingOp[], outcomes: { ok: boolean; value: unknown }[]) => {
      for (const p of ops) {
        try {
          outcomes.push({ ok: true, value: inSavepoint(p.op) });
        } catch (e) {
          outcomes.push({ ok: false, value: e });
        }
      }
    });
    const failAll = (ops: PendingOp[], cause: unknown): void => {
      const err = new DbError('DB_WRITE_FAILED', `(${this.#what})`, { cause });
      for (const p of ops) p.reject(err);
    };
    const settle = (ops: PendingOp[], outcomes: { ok: boolean; value: unknown }[]): void =>
      ops.forEach((p, i) => {
        const o = outcomes[i];
        if (o.ok) p.resolve(o.value);
        else p.reject(o.value);
      });
    this.#queue = new GroupCommit<PendingOp>((ops) => {
      if (this.#broken !== undefined) return failAll(ops, this.#broken);
      const outcomes: { ok: boolean; value: unknown }[] = [];
      try {
        batch.immediate(ops, outcomes);
      } catch (e) {
        // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
        return failAll(ops, e);
      }
      if (!this.#wal) return settle(ops, outcomes);
      return this.#wal.sync().then(
        () => {
          settle(ops, outcomes);
          this.#checkpointer?.afterCommit();
        },
        (e) => {
          // After a failed fsync the kernel may have dropped the dirty pages: stop acknowledging (as
          // PostgreSQL does), the operator restarts once the storage is fixed.
          this.#broken = e;
          failAll(ops, e);
        },
      );
    });
  }

  /** Why this writer stopped acknowledging writes (a failed WAL sync), if it did. */
  failure(): string | undefined {
    return this.#broken === undefined ? undefined : `WAL fdatasync failed (${(this.#broken as Error).message ?? this.#broken})`;
  }

  /** How an acknowledged write is made durable. */
  durability(): string {
    return this.#wal ? SYNC_OFF_LOOP : 'synchronous=FULL';
  }

  write<T>(op: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new DbError('DB_CLOSED', `(${this.#what})`));
    return new Promise<T>((resolve, reject) => {
      this.#queue.add({ op, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Commits what is queued, now. */
  flushNow(): void {
    this.#queue.flushNow();
  }

  stats(): GroupCommitStats {
    return this.#queue.stats();
  }

  /** With syncOffLoop: checkpoints run off the event loop, and why they stopped if they did. */
  checkpointStats(): { checkpoints: number; fallback: string | undefined } | undefined {
    return this.#checkpointer?.stats();
  }

  /** Refuses new writes and commits the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.flushNow();
    await this.#queue.drain();
    await this.#checkpointer?.close();
    this.#wal?.close();
  }
}
