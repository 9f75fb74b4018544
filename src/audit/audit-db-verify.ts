// Verifies an audit database: the hash chain (on several cores for long chains), then every
// batch-close signature and summary, then the batches table against the chain.
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { ImprintError } from '../common/errors.ts';
import { canonicalJson, eventFromEntry } from './audit-canonical.ts';
import type { ChainStatus } from './audit-types.ts';
import type { BatchStore } from './batch-store.ts';
import { type BatchCloseData, batchCloseProblem, summaryMismatch } from './batch-summary.ts';
import { bodySeq, entryBody, GENESIS_HASH, type SegmentResult, walkSegment } from './chain-link.mjs';

/** Below this many events one thread is faster than starting workers. */
const PARALLEL_THRESHOLD = 150_000;
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

export function verifyDatabase(db: Database, file: string, batches: BatchStore, opts: DbVerifyOptions = {}): ChainStatus {
  const maxSeq = (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
  if (maxSeq === 0) return { ok: true, events: 0, lastHash: GENESIS_HASH };
  const threads = Math.max(
    1,
    Math.min(opts.threads ?? (maxSeq < PARALLEL_THRESHOLD ? 1 : Math.min(availableParallelism(), 4)), 16, maxSeq),
  );
  const results = walkAll(db, file, maxSeq, threads, opts.onProgress);

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
  opts.onProgress?.(events);
  return { ok: true, events, lastHash: prevHash };
}

function walkAll(db: Database, file: string, maxSeq: number, threads: number, onProgress?: (n: number) => void) {
  const size = Math.ceil(maxSeq / threads);
  const segments = Array.from({ length: threads }, (_, i) => ({
    from: i * size + 1,
    to: Math.min(maxSeq, (i + 1) * size),
  })).filter((s) => s.from <= s.to);
  const progress = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const done = new Int32Array(new SharedArrayBuffer(4 * segments.length));
  const ports = segments.slice(1).map(({ from, to }, j) => {
    const { port1, port2 } = new MessageChannel();
    const index = j + 1;
    // execArgv: [] — the worker is plain JavaScript and needs no TypeScript loader.
    const w = new Worker(WORKER_URL, {
      execArgv: [],
      workerData: { file, fromSeq: from, toSeq: to, port: port2, progress, done, index },
      transferList: [port2],
    });
    w.unref();
    return port1;
  });
  const report = () => onProgress?.(progress.reduce((a, b) => a + b, 0));
  // The main thread walks the first segment itself; it reads its own connection (sees this process's commits).
  const first = walkSegment(db, segments[0].from, segments[0].to, progress, 0);
  report();
  const results: { from: number; to: number; r: SegmentResult }[] = [{ ...segments[0], r: first }];
  ports.forEach((port, j) => {
    const index = j + 1;
    // Block (verify() is synchronous) until the worker is done, reporting progress meanwhile.
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
