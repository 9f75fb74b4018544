// Durability off the event loop for a WAL database. better-sqlite3 is synchronous: with
// synchronous=FULL every commit blocks the event loop in fdatasync (~1–1.5 ms here) while requests
// wait. Instead the connection commits with synchronous=NORMAL (the WAL is written, not synced) and
// the writer acknowledges a batch only after this fdatasync of the -wal file, run on libuv's pool.
// That is FULL's guarantee for what is acknowledged: an acknowledged commit's frames are on disk;
// frames not yet synced belong to writes nobody was told about, and SQLite's recovery drops a torn
// tail by its checksums. Checkpoints keep NORMAL's rule: the WAL is synced before, the database after.
import { closeSync, fdatasync, fstatSync, fsyncSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where SQLite keeps a database's -wal and -shm files: next to the file itself, so next to the file a symbolic
 * link points to (SQLite resolves links in the path). `${walFilesBase(file)}-wal`.
 */
export function walFilesBase(databaseFile: string): string {
  return realpathSync(databaseFile);
}

export class WalSync {
  readonly #wal: string;
  #fd: number | undefined;
  #ino = 0;

  constructor(databaseFile: string) {
    this.#wal = `${walFilesBase(databaseFile)}-wal`;
  }

  /** Resolves once every frame written to the WAL so far is on disk. */
  sync(): Promise<void> {
    let fd: number;
    try {
      fd = this.#open();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** The -wal file's descriptor, reopened if the file was replaced (deleted and recreated by SQLite). */
  #open(): number {
    if (this.#fd !== undefined && statSync(this.#wal).ino === this.#ino) return this.#fd;
    this.close();
    const fd = openSync(this.#wal, 'r');
    this.#fd = fd;
    this.#ino = fstatSync(fd).ino;
    // The file's name must be durable too (SQLite created it; a new file's directory entry is not synced by fdatasync).
    const dir = openSync(dirname(this.#wal), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return fd;
  }
}
