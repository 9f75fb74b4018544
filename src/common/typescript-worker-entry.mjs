// The first module of every worker thread started by typescript-worker.ts: TypeScript modules load through
// tsx, as in the main thread. Plain JavaScript because no loader exists yet when it runs.
import { workerData } from 'node:worker_threads';

const { module } = workerData;
if (/\.[cm]?tsx?$/.test(new URL(module).pathname)) (await import('tsx/esm/api')).register();
await import(module);
