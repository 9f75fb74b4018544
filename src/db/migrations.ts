// Numbered migrations, the one way every Imprint database changes shape (SQLite and PostgreSQL):
// version N is applied once, in order, after N-1; a database whose version is above the code's
// latest is refused rather than written. Engines record the version (sqlite.ts, postgres.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { DbError } from './db-errors.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The files `NNN-name.sql` of a directory, in order. */
export function sqlFileMigrations(dir: URL): Migration[] {
  const list = readdirSync(dir)
    .filter((f) => /^\d{3}-.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(new URL(f, dir), 'utf8') }));
  return checkedMigrations(list);
}

/** Migrations written inline, version = position + 1. */
export function inlineMigrations(what: string, sqls: readonly string[]): Migration[] {
  return checkedMigrations(sqls.map((sql, i) => ({ version: i + 1, name: `${what} v${i + 1}`, sql })));
}

function checkedMigrations(list: Migration[]): Migration[] {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new DbError('DB_MIGRATIONS_INVALID', `Expected version ${i + 1}, found ${m.name}.`);
  });
  return list;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/** Throws DB_SCHEMA_TOO_NEW when `current` is ahead of the code. */
export function assertNotTooNew(what: string, current: number, migrations: readonly Migration[]): void {
  const latest = latestVersion(migrations);
  if (current > latest)
    throw new DbError('DB_SCHEMA_TOO_NEW', `${what}: schema v${current}, this Imprint knows up to v${latest}.`, {
      details: { current, latest },
    });
}

/** The migrations still to apply on a database at `current`, up to `upTo` (default: all). */
export function pendingMigrations(migrations: readonly Migration[], current: number, upTo?: number): Migration[] {
  return migrations.filter((m) => m.version > current && (upTo === undefined || m.version <= upTo));
}
