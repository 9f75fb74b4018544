// Checkpoints off the event loop, for the group-committed writer that syncs off the loop (sqlite.ts,
// `syncOffLoop`). SQLite's automatic checkpoint runs inside a commit: once the WAL holds 1,000 frames
// not yet in the database file, that commit copies them and fsyncs the file while the event loop
// stands still and every request waits. Here the connection's automatic checkpoint is off, and at the
// same point (read from the WAL-index, below) a thread with its own connection runs a PASSIVE
// checkpoint, which does not take the writer's lock. The thread starts with the first checkpoint (a
// small database never needs one: closing the connection checkpoints). If the thread fails, or the
// WAL-index cannot be read, the connection takes back its automatic checkpoints: the WAL never grows
// without bound.
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { startWorker } from '../common/typescript-worker.ts';
import { walFilesBase } from './wal-sync.ts';

/** SQLite's default wal_autocheckpoint: frames not yet copied into the database file. */
const AUTO_CHECKPOINT_FRAMES = 1000;

// The WAL-index (the -shm file), sqlite.org/walformat.html §2.2, in native byte order: the header's
// isInit flag at byte 12, mxFrame (frames committed to the WAL) at 16, and nBackfill (frames already
// copied into the database) at 96. Read without SQLite's locks: a value a moment old only moves the
// checkpoint by a commit.
const HEADER_BYTES = 100;
const IS_INIT = 12;
const MX_FRAME = 16;
const N_BACKFILL = 96;

/** The checkpoint thread's answer (wal-checkpoint-worker.mjs). */
export interface CheckpointReply {
  /** Frames in the WAL, and how many of them are now in the database file. */
  log?: number;
  checkpointed?: number;
  error?: string;
}

export class WalCheckpointer {
  readonly #db: Database.Database;
  readonly #module: URL;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  readonly #readU32 = endianness() === 'LE' ? this.#header.readUInt32LE : this.#header.readUInt32BE;
  #shm: number | undefined;
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;
  #inFlight = false;
  #closed = false;
  #fallback: string | undefined;
  #done = 0;

  /** `threadModule`: tests give one that fails, to see the fallback. */
  constructor(db: Database.Database, threadModule = new URL('./wal-checkpoint-worker.mjs', import.meta.url)) {
    this.#db = db;
    this.#module = threadModule;
    db.pragma('wal_autocheckpoint = 0');
  }

  /** After a commit whose WAL frames are synced: checkpoint where SQLite would have. */
  afterCommit(): void {
    if (this.#inFlight || this.#closed || this.#fallback !== undefined) return;
    let pending: number;
    try {
      pending = this.#pendingFrames();
    } catch (e) {
      this.#fallBack(`the WAL-index could not be read (${(e as Error).message})`);
      return;
    }
    if (pending < AUTO_CHECKPOINT_FRAMES) return;
    this.#inFlight = true;
    this.#thread().postMessage('checkpoint');
  }

  /** Checkpoints the thread completed, and why it stopped (the connection checkpoints by itself since). */
  stats(): { checkpoints: number; fallback: string | undefined } {
    return { checkpoints: this.#done, fallback: this.#fallback };
  }

  /** Stops the thread and closes its connection (before the writer's own connection closes, which checkpoints). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closeShm();
    if (!this.#worker) return;
    // Referenced again: the process waits for the thread to close its connection.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  /** WAL frames committed and not yet copied into the database file. */
  #pendingFrames(): number {
    this.#shm ??= openSync(`${walFilesBase(this.#db.name)}-shm`, 'r');
    if (readSync(this.#shm, this.#header, 0, HEADER_BYTES, 0) < HEADER_BYTES || this.#header[IS_INIT] !== 1) return 0;
    return this.#readU32.call(this.#header, MX_FRAME) - this.#readU32.call(this.#header, N_BACKFILL);
  }

  #closeShm(): void {
    if (this.#shm !== undefined) closeSync(this.#shm);
    this.#shm = undefined;
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    // Without the process's --import tsx (a worker inherits it: ~0.15 s of CPU to start a loader); the module
    // is plain JavaScript (a test's TypeScript one still loads: the worker entry registers tsx for it).
    const worker = startWorker(this.#module, { file: this.#db.name }, { execArgv: [] });
    worker.unref();
    worker.on('message', (r: CheckpointReply) => {
      this.#inFlight = false;
      if (r.error !== undefined) this.#fallBack(r.error);
      else this.#done++;
    });
    worker.on('error', (e) => this.#fallBack(e.message));
    this.#exited = new Promise((resolve) =>
      worker.once('exit', () => {
        if (!this.#closed) this.#fallBack('the checkpoint thread exited');
        resolve();
      }),
    );
    this.#worker = worker;
    return worker;
  }

  #fallBack(reason: string): void {
    if (this.#fallback !== undefined) return;
    this.#fallback = reason;
    this.#inFlight = false;
    this.#closeShm();
    try {
      if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_FRAMES}`);
    } catch {
      // The connection is closing: it checkpoints as it closes.
    }
    void this.#worker?.terminate();
  }
}
