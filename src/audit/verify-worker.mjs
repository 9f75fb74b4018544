// A verify worker: walks one segment of the chain in its own read-only connection and hands the
// result back through a MessagePort; the parent blocks on `done` (Atomics) so verify() stays synchronous.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { walkSegment } from './chain-link.mjs';

const { file, fromSeq, toSeq, port, progress, done, index } = workerData;
let result;
try {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    result = walkSegment(db, fromSeq, toSeq, progress, index);
  } finally {
    db.close();
  }
} catch (e) {
  result = { error: e instanceof Error ? e.message : String(e) };
}
port.postMessage(result);
Atomics.store(done, index, 1);
Atomics.notify(done, index);
