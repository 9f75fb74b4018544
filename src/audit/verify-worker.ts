// A verify worker: walks one segment of the chain in its own read-only connection and hands the
// result back through a MessagePort; the parent blocks on `done` (Atomics) so verify() stays
// synchronous. The work, its imports included, sits inside the try: whatever fails, the parent is
// told (it cannot receive 'error' events while it blocks).
import type { MessagePort } from 'node:worker_threads';
import { workerInput } from '../common/typescript-worker.ts';

export interface VerifyWorkerInput {
  file: string;
  fromSeq: number;
  toSeq: number;
  port: MessagePort;
  progress: Int32Array;
  done: Int32Array;
  index: number;
}

const { file, fromSeq, toSeq, port, progress, done, index } = workerInput<VerifyWorkerInput>();
let result: unknown;
try {
  const { openSqlite } = await import('../db/sqlite.ts');
  const { walkSegment } = await import('./chain-link.ts');
  const db = openSqlite(file, { readonly: true });
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
