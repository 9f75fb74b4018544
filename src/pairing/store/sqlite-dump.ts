// Every row of an embedded SQLite pairing store, read in one read transaction (a consistent
// snapshot even while a core writes), for `imprint pairing store copy`. The store is migrated to
// the latest schema first, exactly as opening it in a core would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkSqliteSchema, openSqlite } from '../../db/sqlite.ts';
import { PAIRING_SQLITE_FILE, SqlitePairingStore, sqliteMigrations } from './sqlite-store.ts';
import { StoreError } from './store-errors.ts';

export interface TableSpec {
  name: string;
  /** Primary key columns. */
  key: string[];
  /** Key columns holding integers (the rest are text). */
  intKeys?: string[];
  /** Columns SQLite keeps as 0/1 and PostgreSQL as booleans. */
  booleans?: string[];
}

/** The copied tables, parents first. Counters and meta rows are derived by each engine itself. */
export const COPIED_TABLES: TableSpec[] = [
  { name: 'realms', key: ['name'] },
  { name: 'devices', key: ['realm', 'device_id'], booleans: ['inhibited'] },
  { name: 'certificates', key: ['serial'] },
  { name: 'claim_tokens', key: ['jti'] },
  { name: 'claims', key: ['realm', 'manufacturer_id'] },
  { name: 'sign_registrations', key: ['realm', 'uuid'] },
  { name: 'device_imports', key: ['realm', 'station', 'device_id'] },
  { name: 'central_audit_events', key: ['realm', 'station', 'seq'], intKeys: ['seq'] },
  { name: 'central_audit_heads', key: ['realm', 'station'] },
  { name: 'enrolled_stations', key: ['realm', 'station'] },
];

export type Row = Record<string, unknown>;

/** The dump's entry for the core's audit chain (not in COPIED_TABLES: it is copied with its head). */
export const CORE_AUDIT_EVENTS = 'core_audit_events';

/** The rows of every copied table, booleans as booleans. Throws COPY_SOURCE_MISSING. */
export async function dumpSqliteStore(dataDir: string): Promise<Map<string, Row[]>> {
  const file = join(dataDir, PAIRING_SQLITE_FILE);
  if (!existsSync(file)) throw new StoreError('COPY_SOURCE_MISSING', `(no ${file})`);
  await SqlitePairingStore.open(file).close();
  const db = openSqlite(file, { readonly: true });
  try {
    checkSqliteSchema(db, sqliteMigrations(), 'pairing database');
    return db.transaction(() => {
      const out = new Map<string, Row[]>();
      for (const t of COPIED_TABLES) {
        const rows = db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.key.join(', ')}`).all() as Row[];
        for (const r of rows) for (const b of t.booleans ?? []) r[b] = r[b] === 1 || r[b] === true;
        out.set(t.name, rows);
      }
      // The core's own chain (migration 008), in the same snapshot; copied with its head (store-copy.ts).
      out.set(CORE_AUDIT_EVENTS, db.prepare('SELECT * FROM core_audit_events ORDER BY seq').all() as Row[]);
      return out;
    })();
  } finally {
    db.close();
  }
}
