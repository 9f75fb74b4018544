// A verify worker: takes chunks of the chain from the shared plan (chain-chunks.ts) and walks them
// in its own read-only connection until none is left, then says so through its MessagePort (the
// synchronous verify() only reads the shared memory; verifyAsync() awaits the message). The work,
// its imports included, sits inside the try: whatever fails, the parent is told. It usually runs
// as a bundle kept outside the project (verify-worker-bundle.ts), so better-sqlite3 is loaded
// from where the parent found it.
import { createRequire } from 'node:module';
import type { MessagePort } from 'node:worker_threads';
import { workerInput } from '../common/typescript-worker.ts';
import type { ChunkPlan } from './chain-chunks.ts';

export interface VerifyWorkerInput {
  file: string;
  plan: ChunkPlan;
  port: MessagePort;
  /** better-sqlite3's entry file, as the parent resolved it. */
  sqlite: string;
}

const { file, plan, port, sqlite } = workerInput<VerifyWorkerInput>();
let result: { done: true } | { error: string };
try {
  // better-sqlite3 itself, not src/db/sqlite.ts: fewer modules to load before the first chunk.
  const Database = createRequire(import.meta.url)(sqlite) as typeof import('better-sqlite3');
  const { walkChunks } = await import('./chain-chunks.ts');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    walkChunks(db, plan);
  } finally {
    db.close();
  }
  result = { done: true };
} catch (e) {
  result = { error: e instanceof Error ? e.message : String(e) };
}
port.postMessage(result);
