// A verify worker: walks one segment of the chain in its own read-only connection and hands the
// result back through a MessagePort; the parent blocks on `done` (Atomics) so verify() stays
// synchronous. Everything, imports included, sits inside the try: whatever fails, the parent is
// told (it cannot receive 'error' events while it blocks).
import { workerData } from 'node:worker_threads';

const { file, fromSeq, toSeq, port, progress, done, index } = workerData;
let result;
try {
  const { default: Database } = await import('better-sqlite3');
  const { walkSegment } = await import('./chain-link.mjs');
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
