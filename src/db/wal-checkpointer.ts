// Checkpoints off the event loop, for the group-committed writer that syncs off the loop (sqlite.ts,
// `syncOffLoop`). SQLite's automatic checkpoint runs inside a commit: every ~1,000 pages that commit
// copies the WAL into the database file and fsyncs it, while the event loop stands still and every
// request waits (keep-alive registrations, docs/performance.md: p99 37–82 ms with it, 14–18 without).
// Here the connection's automatic checkpoint is off and a thread with its own connection runs PASSIVE
// checkpoints: once the WAL has reached the size SQLite would checkpoint at, at most one per
// CHECKPOINT_EVERY_MS while commits keep coming. The thread starts with the first checkpoint (a small
// database never needs it: closing the connection checkpoints). If it fails, the connection takes back
// its automatic checkpoints, so the WAL never grows without bound.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../common/typescript-worker.ts';
import type { SqliteDatabase } from './sqlite.ts';
import type { CheckpointReply } from './wal-checkpoint-worker.ts';

/** SQLite's default wal_autocheckpoint, in pages. */
const AUTO_CHECKPOINT_PAGES = 1000;
export const CHECKPOINT_EVERY_MS = 100;

export class WalCheckpointer {
  readonly #db: SqliteDatabase;
  readonly #thresholdBytes: number;
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;
  #inFlight = false;
  #lastAt = Number.NEGATIVE_INFINITY;
  #closed = false;
  #fallback: string | undefined;
  #done = 0;

  readonly #module: URL;

  /** `threadModule`: tests give one that fails, to see the fallback. */
  constructor(db: SqliteDatabase, threadModule = new URL('./wal-checkpoint-worker.ts', import.meta.url)) {
    this.#db = db;
    this.#module = threadModule;
    this.#thresholdBytes = AUTO_CHECKPOINT_PAGES * Number(db.pragma('page_size', { simple: true }));
    db.pragma('wal_autocheckpoint = 0');
  }

  /** After a commit whose WAL frames are synced; `walBytes` is the -wal file's size. */
  afterCommit(walBytes: number): void {
    if (this.#inFlight || this.#closed || this.#fallback !== undefined || walBytes < this.#thresholdBytes) return;
    const now = performance.now();
    if (now - this.#lastAt < CHECKPOINT_EVERY_MS) return;
    this.#inFlight = true;
    this.#lastAt = now;
    this.#thread().postMessage('checkpoint');
  }

  /** Checkpoints the thread completed, and why it stopped (the connection checkpoints by itself since). */
  stats(): { checkpoints: number; fallback: string | undefined } {
    return { checkpoints: this.#done, fallback: this.#fallback };
  }

  /** Stops the thread and closes its connection (before the writer's own connection closes, which checkpoints). */
  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#worker) return;
    // Referenced again: the process waits for the thread to close its connection.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker(this.#module, { file: this.#db.name });
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
    try {
      if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    } catch {
      // The connection is closing: it checkpoints as it closes.
    }
    void this.#worker?.terminate();
  }
}
