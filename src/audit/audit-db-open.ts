// Opening audit.db: private files for a writer; for a reader, a clear answer on a damaged file,
// and a private temporary copy when the file sits on read-only media (SQLite cannot read a WAL
// database there: it needs to create the -shm file next to it).
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../db/sqlite.ts';
import { damageReason } from './audit-db-verify.ts';
import { AuditError } from './audit-errors.ts';
import { isDamage } from './chain-link.ts';

export interface OpenedDb {
  db: SqliteDatabase;
  /** The file actually opened: `file`, or its private copy (verify workers open it too). */
  path: string;
  /** Removes the private copy, if any (after db.close()). */
  cleanup(): void;
}

/**
 * Opens (creating if needed) a trail for writing, durable (every commit fsynced before append()
 * resolves); the folder is 0700, the database and its side files 0600.
 */
export function openForWriting(file: string): OpenedDb {
  try {
    const db = openSqlite(file, {
      // A new file gets 16 KiB pages (an existing file keeps its own): shallower index B-trees, so
      // each append's index inserts cost less. Fewer, larger checkpoints and a bigger page cache
      // keep those B-trees fast to update.
      pageSize: 16384,
      walAutocheckpoint: 10000,
      cacheKiB: 65536,
    });
    return { db, path: file, cleanup: () => {} };
  } catch (e) {
    throw openError(file, e);
  }
}

/** Opens an existing trail read-only; throws AUDIT_DAMAGED for a damaged file. */
export function openForReading(file: string): OpenedDb {
  if (!existsSync(file)) throw new AuditError('AUDIT_NOT_FOUND', file);
  if (statSync(file).size === 0)
    throw new AuditError('AUDIT_DAMAGED', `the database file ${file} is empty (truncated to nothing)`);
  try {
    return probe({ db: openSqlite(file, { readonly: true }), path: file, cleanup: () => {} });
  } catch (e) {
    if (!onReadOnlyMedia(e)) throw readError(file, e);
  }
  return openPrivateCopy(file);
}

/** A first read: a damaged file or read-only media often only show here, not at open. */
function probe(o: OpenedDb): OpenedDb {
  try {
    o.db.pragma('user_version');
    o.db.prepare('SELECT count(*) FROM sqlite_master').get();
    return o;
  } catch (e) {
    o.db.close();
    o.cleanup();
    throw e;
  }
}

function onReadOnlyMedia(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'));
}

/** Read-only media: verify a private copy (with its WAL, so nothing committed is missed). */
function openPrivateCopy(file: string): OpenedDb {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-audit-readonly-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const copy = join(dir, 'audit.db');
  try {
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    return probe({ db: openSqlite(copy, { readonly: true }), path: copy, cleanup });
  } catch (e) {
    cleanup();
    throw readError(file, e);
  }
}

function readError(file: string, e: unknown): AuditError {
  if (isDamage(e)) return new AuditError('AUDIT_DAMAGED', `${file}: ${damageReason(e)}`, { cause: e });
  return openError(file, e);
}

function openError(file: string, e: unknown): AuditError {
  return new AuditError('AUDIT_OPEN_FAILED', `${file}: ${(e as Error).message}`, { cause: e });
}

/** Runs a read; a damaged file becomes AUDIT_DAMAGED with a sentence (sync or async). */
export function readingDamaged<T>(file: string, read: () => T): T {
  const damaged = (e: unknown) =>
    isDamage(e) ? new AuditError('AUDIT_DAMAGED', `${file}: ${damageReason(e)}`, { cause: e }) : e;
  try {
    const out = read();
    return (out instanceof Promise ? out.catch((e) => Promise.reject(damaged(e))) : out) as T;
  } catch (e) {
    throw damaged(e);
  }
}
