// What can go wrong below the domain, whatever the engine: one closed catalogue, each code with what
// happened and what to do. Messages never carry a URL's password or a row's secret hash.
import { ImprintError } from '../common/errors.ts';

export const DB_ERRORS = {
  DB_SCHEMA_TOO_NEW: {
    message: 'The database was written by a newer Imprint: its schema is ahead of this version.',
    action: 'Upgrade Imprint on this machine before opening this database.',
  },
  DB_MIGRATIONS_INVALID: {
    message: 'The numbered migrations shipped with Imprint are not 1, 2, 3, … in order.',
    action: 'Reinstall Imprint: its migration files are damaged.',
  },
  DB_UNAVAILABLE: {
    message: 'The database did not answer.',
    action: 'Check that PostgreSQL runs and that the URL, network and credentials are right; Imprint reconnects by itself.',
  },
  DB_WRITE_FAILED: {
    message: 'The database could not commit the write: nothing of it was kept.',
    action: 'Check the free space and health of the database storage, then retry.',
  },
  DB_NOT_DURABLE: {
    message: 'The database would acknowledge writes before they are on disk.',
    action: 'Use synchronous_commit = on (or remote_write/remote_apply) and fsync = on for the pairing store.',
  },
  DB_URL_INVALID: {
    message: 'The store is neither a postgres:// URL nor a data directory.',
    action: 'Give --store postgres://USER:PASSWORD@HOST:5432/DATABASE (or leave it out for the embedded SQLite store).',
  },
  DB_CLOSED: {
    message: 'The database is closed.',
    action: 'This is a bug in the caller: nothing may use a store after close().',
  },
  DB_COPY_CONFLICT: {
    message: 'The target already holds different data for a row being copied: nothing was overwritten.',
    action: 'Copy into an empty database, or resolve the listed rows by hand and run the copy again.',
  },
} as const satisfies Record<string, { message: string; action: string }>;

export type DbErrorCode = keyof typeof DB_ERRORS;

export class DbError extends ImprintError {
  declare readonly code: DbErrorCode;

  /** `detail` says which database and what exactly (never a secret). */
  constructor(code: DbErrorCode, detail?: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    const entry = DB_ERRORS[code];
    super(code, detail ? `${entry.message} ${detail}` : entry.message, { hint: entry.action, ...opts });
    this.name = 'DbError';
  }
}

export function isDbError(e: unknown, code?: DbErrorCode): e is DbError {
  return e instanceof DbError && (code === undefined || e.code === code);
}
