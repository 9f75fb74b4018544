// The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the database, and on each
// request one PASSIVE checkpoint, which copies committed frames into the database file and syncs it
// without taking the writer's lock, so the writer on the event loop goes on meanwhile.

import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { workerInput } from '../common/typescript-worker.ts';

export interface CheckpointReply {
  /** Frames in the WAL, and how many of them are now in the database file. */
  log?: number;
  checkpointed?: number;
  error?: string;
}

const { file } = workerInput<{ file: string }>();
const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// FULL: the WAL is synced before its frames are copied and the database file after (as NORMAL does for checkpoints).
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

parentPort?.on('message', (m: 'checkpoint' | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  let reply: CheckpointReply;
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    reply = { log: row.log, checkpointed: row.checkpointed };
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply);
});
