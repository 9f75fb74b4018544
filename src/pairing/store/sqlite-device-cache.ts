// Device rows for the request path's reads (a device's secret check, its info), kept between requests while
// nothing could have changed them: a keep-alive info request spent ~20 µs of its ~85 reading its row
// (docs/performance.md). Writes still read the database inside their transaction, never this cache.
// A row stays valid until:
// - this connection writes it: every device write goes through SqliteDeviceRows.putDevice, which drops the
//   entry (before the commit; a rollback only costs a read);
// - another connection commits (a CLI command on the same file, another process): PRAGMA data_version
//   changes, checked on every read (2.3 µs alone, ~12 µs in the server: still less than the row's read), and
//   the whole cache is dropped.
// Inside a transaction on this connection reads bypass it.
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../../db/sqlite.ts';
import type { DeviceRow } from '../pairing-store.ts';

/** Enough for a plant's active devices; when full it starts over (a bound on memory, not an LRU). */
const MAX_ROWS = 20_000;

export class DeviceRowCache {
  readonly #rows = new Map<string, Readonly<DeviceRow>>();
  readonly #db: SqliteDatabase;
  readonly #dataVersion: Statement<[], number>;
  #version: number | undefined;
  #hits = 0;
  #misses = 0;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** The device's row, from the cache when still valid, else from `load` (undefined: no such device). */
  get(realm: string, deviceId: string, load: () => DeviceRow | undefined): Readonly<DeviceRow> | undefined {
    if (this.#db.inTransaction) return load();
    const version = this.#dataVersion.get();
    if (version !== this.#version) {
      this.#rows.clear();
      this.#version = version;
    }
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

  /** This connection is about to change the device's row. */
  forget(realm: string, deviceId: string): void {
    this.#rows.delete(`${realm}\0${deviceId}`);
  }

  stats(): { hits: number; misses: number; rows: number } {
    return { hits: this.#hits, misses: this.#misses, rows: this.#rows.size };
  }
}
