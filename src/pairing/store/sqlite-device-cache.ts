// Device rows for the request path's reads (a device's secret check, its info), kept between requests while
// nothing could have changed them: a keep-alive info request spent ~20 µs of its ~85 reading its row
// (docs/performance.md). Writes still read the database inside their transaction, never this cache.
// A row stays valid until:
// - this connection writes it: every device write goes through SqliteDeviceRows.putDevice, which drops the
//   entry (before the commit; a rollback only costs a read);
// - another connection commits (a CLI command on the same file, another process): PRAGMA data_version
//   changes, and the whole cache is dropped. The pragma costs 2 µs alone (a read transaction: two fcntl locks),
//   ~10 µs in the server, so it runs only when the WAL-index header moved, which every commit of every
//   connection rewrites (the -shm file, mapped by the native addon: a 48-byte compare). Without the addon, or
//   for a database without a -shm file, the pragma runs on every read.
// Inside a transaction on this connection reads bypass it.
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../../db/sqlite.ts';
import { walFilesBase } from '../../db/wal-sync.ts';
import { nativeWalIndexView, type WalIndexView } from '../native-addon.ts';
import type { DeviceRow } from '../pairing-store.ts';

/** Enough for a plant's active devices; when full it starts over (a bound on memory, not an LRU). */
const MAX_ROWS = 20_000;

export class DeviceRowCache {
  readonly #rows = new Map<string, Readonly<DeviceRow>>();
  readonly #db: SqliteDatabase;
  readonly #dataVersion: Statement<[], number>;
  #version: number | undefined;
  /** The WAL-index header's view (null: none, the pragma on every read; undefined: not mapped yet). */
  #walIndex: WalIndexView | null | undefined;
  #hits = 0;
  #misses = 0;
  #versionReads = 0;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** The device's row, from the cache when still valid, else from `load` (undefined: no such device). */
  get(realm: string, deviceId: string, load: () => DeviceRow | undefined): Readonly<DeviceRow> | undefined {
    // Closed: never read the WAL-index again (another process may truncate it); load() reports the closed database.
    if (this.#db.inTransaction || !this.#db.open) return load();
    this.#checkVersion();
    const key = `${realm}\0${deviceId}`;
    const hit = this.#rows.get(key);
    if (hit) {
      this.#hits++;
      return hit;
    }
    this.#misses++;
    const row = load();
    if (row) {
      if (this.#rows.size >= MAX_ROWS) this.#rows.clear();
      // Frozen: one object is handed to every reader until it changes.
      this.#rows.set(key, Object.freeze(row));
    }
    return row;
  }

  /** Drops every row if another connection committed since the last check. */
  #checkVersion(): void {
    if (this.#walIndex === undefined) this.#mapWalIndex();
    // The header is looked at before the pragma: a commit between the two moves it again, and the next read checks.
    else if (this.#walIndex?.moved() === false) return;
    const version = this.#dataVersion.get();
    this.#versionReads++;
    if (version !== this.#version) {
      this.#rows.clear();
      this.#version = version;
    }
  }

  /**
   * Once: the WAL-index where SQLite keeps it (next to the file a symbolic link points to), looked at once here
   * (before this check's pragma). Null without the addon, for an in-memory database, or before the database was
   * ever read in WAL mode (no -shm file yet): the pragma then runs on every read.
   */
  #mapWalIndex(): void {
    this.#dataVersion.get(); // a read: the -shm file exists from here on in WAL mode
    const view = this.#db.memory ? undefined : nativeWalIndexView(`${walFilesBase(this.#db.name)}-shm`);
    view?.moved();
    this.#walIndex = view ?? null;
  }

  /** This connection is about to change the device's row. */
  forget(realm: string, deviceId: string): void {
    this.#rows.delete(`${realm}\0${deviceId}`);
  }

  /** `versionReads`: PRAGMA data_version runs (once per read without the WAL-index view, else after commits). */
  stats(): { hits: number; misses: number; rows: number; versionReads: number; walIndexView: boolean } {
    return {
      hits: this.#hits,
      misses: this.#misses,
      rows: this.#rows.size,
      versionReads: this.#versionReads,
      walIndexView: Boolean(this.#walIndex),
    };
  }
}
