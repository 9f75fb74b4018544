// Worker threads run ordinary TypeScript modules, loaded by the same loader as the rest of the process
// (tsx, which bin/imprint.mjs registers and `node --import tsx` imports). This is the project's one
// mechanism for workers (docs/architecture.md):
//
//   const worker = startWorker(new URL('./my-worker.ts', import.meta.url), { some: 'data' });
//   // in my-worker.ts: const data = workerInput<{ some: string }>(); parentPort!.on('message', …)
//
// The thread starts in typescript-worker-entry.mjs, which registers tsx (Node 20 does not pass a loader
// to worker threads) and imports the module. No code string is evaluated and no code is copied into
// JavaScript: the worker imports the same modules as the main thread.
import { Worker, type WorkerOptions, workerData } from 'node:worker_threads';

const ENTRY = new URL('./typescript-worker-entry.mjs', import.meta.url);

/** A worker thread running `module` (a .ts or .js file URL); `data` is structured-cloned (KeyObjects too). */
export function startWorker(module: URL, data?: unknown, opts: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  return new Worker(ENTRY, { ...opts, workerData: { module: module.href, data } });
}

/** Inside a worker started by startWorker: the `data` it was given. */
export function workerInput<T>(): T {
  return (workerData as { data: T }).data;
}
