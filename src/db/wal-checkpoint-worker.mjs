// The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the database, and on each
// request one PASSIVE checkpoint, which copies committed frames into the database file and syncs it
// without taking the writer's lock, so the writer on the event loop goes on meanwhile.
// Plain JavaScript, unlike the project's other workers: a thread that registers tsx first spends ~0.3 s of
// CPU on it (Node 20 starts a loader per thread), ten times what this thread costs to start otherwise, and it
// starts in the middle of a busy server or station's run (at the first 1,000 WAL frames). Its replies are
// CheckpointReply (wal-checkpointer.ts).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** startWorker's input (src/common/typescript-worker.ts): `{ module, data: { file } }`. */
const { file } = workerData.data;
const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// FULL: the WAL is synced before its frames are copied and the database file after (as NORMAL does for checkpoints).
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

parentPort?.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  let reply;
  try {
    const row = checkpoint.get();
    reply = { log: row.log, checkpointed: row.checkpointed };
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply);
});
