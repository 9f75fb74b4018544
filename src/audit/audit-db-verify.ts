// Verifies an audit database: the hash chain (on several cores for long chains), then every
// batch-close signature and summary, then the batches table against the chain.

import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { ImprintError } from '../common/errors.ts';
import { canonicalJson, eventFromEntry } from './audit-canonical.ts';
import type { ChainStatus } from './audit-types.ts';
import type { BatchStore } from './batch-store.ts';
import { type BatchCloseData, batchCloseProblem, summaryMismatch } from './batch-summary.ts';
import { bodySeq, entryBody, GENESIS_HASH, type SegmentResult, walkSegment } from './chain-link.mjs';

/** Below this many events one thread is faster than starting workers. */
export const PARALLEL_THRESHOLD = 150_000;
const WORKER_URL = new URL('./verify-worker.mjs', import.meta.url);

export interface DbVerifyOptions {
  onProgress?: (n: number) => void;
  /** Threads to use (default: available cores, at most 4). 1 = no workers. */
  threads?: number;
}

interface Broken {
  seq: number;
  reason: string;
}

type SegmentRun = { from: number; to: number; r: SegmentResult };

function plan(db: Database, opts: DbVerifyOptions): { maxSeq: number; threads: number } {
  const maxSeq = (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
  const wanted = opts.threads ?? (maxSeq < PARALLEL_THRESHOLD ? 1 : Math.min(availableParallelism(), 4));
  return { maxSeq, threads: Math.max(1, Math.min(wanted, 16, maxSeq)) };
}

/** Verifies synchronously (blocks the thread; long chains are walked on worker threads meanwhile). */
export function verifyDatabase(db: Database, file: string, batches: BatchStore, opts: DbVerifyOptions = {}): ChainStatus {
  const { maxSeq, threads } = plan(db, opts);
  if (maxSeq === 0) return { ok: true, events: 0, lastHash: GENESIS_HASH };
  return conclude(db, batches, maxSeq, walkAll(db, file, maxSeq, threads, opts.onProgress), opts.onProgress);
}

/**
 * Verifies without blocking the event loop: every segment is walked on a worker thread (appends
 * may go on meanwhile; the chain is checked up to the last event that existed at the start).
 */
export async function verifyDatabaseAsync(
  db: Database,
  file: string,
  batches: BatchStore,
  opts: DbVerifyOptions = {},
): Promise<ChainStatus> {
  const { maxSeq, threads } = plan(db, opts);
  if (maxSeq === 0) return { ok: true, events: 0, lastHash: GENESIS_HASH };
  const segments = split(maxSeq, threads);
  const progress = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const done = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const timer = opts.onProgress ? setInterval(() => opts.onProgress?.(progress.reduce((a, b) => a + b, 0)), 200) : undefined;
  try {
    const results = await Promise.all(
      segments.map(async (seg, index) => {
        const port = startWorker(file, seg, progress, done, index);
        const [msg] = (await once(port, 'message')) as [SegmentResult & { error?: string }];
        port.close();
        if (msg.error) throw new ImprintError('AUDIT_VERIFY_FAILED', `verify worker failed: ${msg.error}`);
        return { ...seg, r: msg };
      }),
    );
    return conclude(db, batches, maxSeq, results, opts.onProgress);
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** Stitches the segments, diagnoses the first failure, then checks the batches before it. */
function conclude(
  db: Database,
  batches: BatchStore,
  maxSeq: number,
  results: SegmentRun[],
  onProgress?: (n: number) => void,
): ChainStatus {
  let broken: Broken | undefined;
  let prevHash = GENESIS_HASH;
  let events = 0;
  for (const { from, to, r } of results) {
    if (r.firstPrevHash !== undefined && r.firstPrevHash !== prevHash && !(r.failure && r.failure.seq === from)) {
      broken = { seq: from, reason: linkReason(from) };
      break;
    }
    if (r.failure) {
      broken = diagnose(db, r.failure);
      break;
    }
    if (r.endSeq !== to) {
      broken = diagnose(db, { seq: (r.endSeq ?? from - 1) + 1, kind: 'seq' });
      break;
    }
    events += r.count;
    prevHash = r.lastHash ?? prevHash;
  }

  const batchProblem = checkBatches(db, batches, broken?.seq ?? maxSeq + 1);
  if (batchProblem && (!broken || batchProblem.seq < broken.seq)) broken = batchProblem;
  if (broken) return { ok: false, events: broken.seq - 1, brokenAt: broken.seq, reason: broken.reason };
  onProgress?.(events);
  return { ok: true, events, lastHash: prevHash };
}

function split(maxSeq: number, threads: number): { from: number; to: number }[] {
  const size = Math.ceil(maxSeq / threads);
  return Array.from({ length: threads }, (_, i) => ({ from: i * size + 1, to: Math.min(maxSeq, (i + 1) * size) })).filter(
    (s) => s.from <= s.to,
  );
}

function startWorker(
  file: string,
  seg: { from: number; to: number },
  progress: Int32Array,
  done: Int32Array,
  index: number,
): MessagePort {
  const { port1, port2 } = new MessageChannel();
  // execArgv: [] — the worker is plain JavaScript and needs no TypeScript loader.
  const w = new Worker(WORKER_URL, {
    execArgv: [],
    workerData: { file, fromSeq: seg.from, toSeq: seg.to, port: port2, progress, done, index },
    transferList: [port2],
  });
  w.unref();
  return port1;
}

function walkAll(db: Database, file: string, maxSeq: number, threads: number, onProgress?: (n: number) => void): SegmentRun[] {
  const segments = split(maxSeq, threads);
  const progress = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const done = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const ports = segments.slice(1).map((seg, j) => startWorker(file, seg, progress, done, j + 1));
  const report = () => onProgress?.(progress.reduce((a, b) => a + b, 0));
  // The main thread walks the first segment itself, on its own connection.
  const results: SegmentRun[] = [{ ...segments[0], r: walkSegment(db, segments[0].from, segments[0].to, progress, 0) }];
  report();
  ports.forEach((port, j) => {
    const index = j + 1;
    // Block (this path is synchronous) until the worker is done, reporting progress meanwhile.
    for (let waited = 0; Atomics.load(done, index) === 0; waited++) {
      Atomics.wait(done, index, 0, 100);
      report();
      if (waited > 6000) throw new ImprintError('AUDIT_VERIFY_FAILED', 'a verify worker did not finish within 10 minutes');
    }
    const msg = receiveMessageOnPort(port)?.message as (SegmentResult & { error?: string }) | undefined;
    port.close();
    if (!msg || msg.error) throw new ImprintError('AUDIT_VERIFY_FAILED', `verify worker failed: ${msg?.error ?? 'no result'}`);
    results.push({ ...segments[index], r: msg });
  });
  return results;
}

function linkReason(seq: number): string {
  return `prevHash mismatch: event ${seq} does not link to event ${seq - 1} (one of them was rewritten)`;
}

/** Turns a raw segment failure into a precise reason, looking at the rows around it. */
function diagnose(db: Database, f: NonNullable<SegmentResult['failure']>): Broken {
  const seq = f.seq;
  if (f.kind === 'hash') return { seq, reason: `hash mismatch: the content of event ${seq} was changed` };
  if (f.kind === 'link') return { seq, reason: linkReason(seq) };
  if (f.kind === 'malformed') return { seq, reason: `malformed event ${seq}: not a canonical event body` };
  const rows = db.prepare('SELECT seq, entry FROM events WHERE seq >= ? ORDER BY seq LIMIT 2').raw().all(seq) as [
    number,
    string,
  ][];
  if (rows.length === 0) return { seq, reason: `event ${seq} is missing (the chain ends at ${seq - 1})` };
  const [rowSeq, entry] = rows[0];
  if (rowSeq !== seq) return { seq, reason: `seq gap: event ${seq} is missing (event ${seq - 1} is followed by ${rowSeq})` };
  const claimed = bodySeq(entryBody(entry));
  return { seq, reason: `reordered: the row at seq ${seq} holds event ${claimed}` };
}

/** Every batch-close event (before `limitSeq`): signature, recomputed summary, batches table row. */
function checkBatches(db: Database, batches: BatchStore, limitSeq: number): Broken | undefined {
  const closes = db
    .prepare("SELECT seq, entry FROM events WHERE step = 'batch-close' AND seq < ? ORDER BY seq")
    .raw()
    .all(limitSeq) as [number, string][];
  const closedInChain = new Set<string>();
  for (const [seq, entry] of closes) {
    const e = eventFromEntry(entry);
    const problem = batchCloseProblem(e.batchId, e.data);
    if (problem) return { seq, reason: problem };
    const data = e.data as unknown as BatchCloseData;
    const stored = batches.get(data.batch.id);
    if (!stored) return { seq, reason: `batch ${data.batch.id} is closed in the chain but missing from the batches table` };
    const mismatch = summaryMismatch(data.summary, batches.computeSummary(data.batch.id, stored.openSeq, seq));
    if (mismatch) return { seq, reason: mismatch };
    if (
      stored.closeSeq !== seq ||
      stored.signature !== data.signature ||
      canonicalJson(stored.summary) !== canonicalJson(data.summary)
    )
      return { seq, reason: `batches table entry for ${data.batch.id} differs from its signed batch-close event` };
    closedInChain.add(data.batch.id);
  }
  for (const b of batches.list()) {
    if (b.closeSeq !== undefined && b.closeSeq < limitSeq && !closedInChain.has(b.id))
      return { seq: b.closeSeq, reason: `batch ${b.id} is marked closed but its batch-close event is missing` };
  }
  return undefined;
}
