// Files the product creates are private (DESIGN.md, trust boundary): directories 0700, files 0600.
// One mechanism for every store and key: the CLI and the Electron shell also set umask 077, and
// these helpers make the modes hold without it (library use, tests) and tighten data folders made
// by older versions (0755 directories, 0644 databases), saying so once in the log.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger, type Logger } from './logger.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** SQLite's companion files: they take the database file's mode when SQLite creates them. */
const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'];

let defaultLog: Logger | undefined;
const told = new Set<string>();

function tighten(path: string, want: number, log: Logger | undefined): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // gone meanwhile, or not ours to read: nothing to tighten
  }
  if ((mode & ~want) === 0) return;
  chmodSync(path, want);
  if (told.has(path)) return;
  told.add(path);
  defaultLog ??= createLogger({ level: process.env.IMPRINT_LOG_LEVEL ?? 'warn' });
  (log ?? defaultLog).warn(
    { path, from: mode.toString(8), to: want.toString(8) },
    'permissions tightened: station data is private to its owner',
  );
}

/** Make `dir` (and missing parents) with mode 0700; an existing one open to others is tightened. */
export function ensurePrivateDir(dir: string, log?: Logger): string {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE, log);
  return dir;
}

/** An existing file readable by others is made 0600 (a missing one is left missing). */
export function tightenPrivateFile(file: string, log?: Logger): void {
  if (existsSync(file)) tighten(file, PRIVATE_FILE_MODE, log);
}

/**
 * Call before opening a SQLite database for writing: its folder 0700, the file 0600 (created
 * empty when missing, which SQLite takes as a new database, so the -wal and -shm files it makes
 * inherit 0600), and companions left by older versions tightened.
 */
export function preparePrivateDatabase(file: string, log?: Logger): void {
  ensurePrivateDir(dirname(file), log);
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  tightenPrivateFile(file, log);
  for (const suffix of SQLITE_COMPANIONS) tightenPrivateFile(file + suffix, log);
}

/**
 * Write a private file durably and atomically: a 0600 temp file, fsynced, renamed over `file`.
 * `exclusive` refuses to replace an existing file (keys are made once).
 */
export function writePrivateFile(file: string, data: string | Uint8Array, opts: { exclusive?: boolean } = {}): void {
  ensurePrivateDir(dirname(file));
  if (opts.exclusive && existsSync(file)) {
    const e = new Error(`${file} already exists`) as NodeJS.ErrnoException;
    e.code = 'EEXIST';
    throw e;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, PRIVATE_FILE_MODE); // an existing temp file keeps its mode through open()
  renameSync(tmp, file);
}
