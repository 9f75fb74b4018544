// Verifies an audit database: the hash chain (on several cores for long chains), then every
// batch-close signature and summary, the batches table against the chain, and the anchors (the
// chain-head checkpoint, anchors QA kept) that the end of the trail must still reach.

import { once } from 'node:events';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { startWorker } from '../common/typescript-worker.ts';
import { type Anchor, anchorFromCheckpoint, checkAnchors, endsAt } from './audit-anchor.ts';
import { canonicalJson, eventFromEntry } from './audit-canonical.ts';
import { AuditError } from './audit-errors.ts';
import { ENTRY_HASH } from './audit-schema.ts';
import type { ChainStatus } from './audit-types.ts';
import type { BatchStore } from './batch-store.ts';
import { type BatchCloseData, batchCloseProblem, summaryMismatch } from './batch-summary.ts';
import type { CheckpointRead } from './chain-checkpoint.ts';
import { allSettled, type ChunkPlan, chunkResults, planChunks, SETTLED, walkChunks, walked } from './chain-chunks.ts';
import { bodySeq, entryBody, GENESIS_HASH, isDamage, type SegmentResult, walkSegment } from './chain-link.ts';
import type { VerifyWorkerInput } from './verify-worker.ts';
import { verifyWorkerModule } from './verify-worker-bundle.ts';

/** Below this many events one thread is faster than starting workers. */
export const PARALLEL_THRESHOLD = 150_000;
/** The workers load the same better-sqlite3 as this thread, wherever their module sits. */
const SQLITE_ENTRY = createRequire(import.meta.url).resolve('better-sqlite3');

export interface DbVerifyOptions {
  onProgress?: (n: number) => void;
  /** Threads to use (default: available cores, at most 4). 1 = no workers. */
  threads?: number;
  /** Only accept signatures (batch summaries, the checkpoint) by these station key ids. */
  trustedKeyIds?: readonly string[];
  /** Anchors the trail must still reach, besides its own checkpoint (`--anchor`, later `--remote`). */
  anchors?: readonly Anchor[];
}

/** What verify needs besides the connection. */
export interface DbVerifyTarget {
  db: Database;
  file: string;
  batches: BatchStore;
  /**
   * The chain-head checkpoint, read before the walk starts (it never runs ahead of the committed
   * chain, so a chain read after it must reach it). `required`: the trail keeps one (schema ≥ 3).
   */
  checkpoint: { file: string; read: CheckpointRead; required: boolean };
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
export function verifyDatabase(t: DbVerifyTarget, opts: DbVerifyOptions = {}): ChainStatus {
  try {
    const { maxSeq, threads } = plan(t.db, opts);
    return conclude(t, maxSeq, maxSeq === 0 ? [] : walkAll(t.db, t.file, maxSeq, threads, opts.onProgress), opts);
  } catch (e) {
    return damaged(e);
  }
}

/**
 * Verifies without blocking the event loop: every chunk is walked on a worker thread (appends
 * may go on meanwhile; the chain is checked up to the last event that existed at the start).
 */
export async function verifyDatabaseAsync(t: DbVerifyTarget, opts: DbVerifyOptions = {}): Promise<ChainStatus> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { maxSeq, threads } = plan(t.db, opts);
    if (maxSeq === 0) return conclude(t, maxSeq, [], opts);
    const p = planChunks(maxSeq, threads);
    if (opts.onProgress) timer = setInterval(() => opts.onProgress?.(walked(p)), 200);
    await Promise.all(
      Array.from({ length: threads }, async () => {
        const port = startWorkerOn(t.file, p);
        const [msg] = (await once(port, 'message')) as [{ error?: string }];
        port.close();
        if (msg.error) throw new AuditError('AUDIT_VERIFY_FAILED', `a verify worker failed: ${msg.error}`);
      }),
    );
    // Every worker ran out of chunks, so each chunk is settled; a broken one is walked again here.
    return conclude(t, maxSeq, chunkResults(t.db, p), opts);
  } catch (e) {
    return damaged(e);
  } finally {
    if (timer) clearInterval(timer);
  }
}

/** A damaged file is a verification result ("broken"), never a JavaScript error. */
function damaged(e: unknown): ChainStatus {
  if (!isDamage(e)) throw e;
  return { ok: false, events: 0, brokenAt: 1, reason: damageReason(e) };
}

export function damageReason(e: unknown): string {
  return `the database file is damaged (${(e as Error).message}): restore it from a backup or the copy synced upstream`;
}

/**
 * Stitches the segments and diagnoses the first failure, then checks the batches and the anchors
 * against the chain before it. The earliest problem wins; at the same seq: chain, batches, anchors.
 */
function conclude(t: DbVerifyTarget, maxSeq: number, results: SegmentRun[], opts: DbVerifyOptions): ChainStatus {
  const { db } = t;
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
  const earliest = (b: Broken | undefined) => {
    if (b && (!broken || b.seq < broken.seq)) broken = b;
  };
  const limitSeq = broken?.seq ?? maxSeq + 1;
  const keyIds = new Set<string>();
  const hashAt = db.prepare(`SELECT ${ENTRY_HASH} FROM events WHERE seq = ?`).pluck();
  const { anchors, notes } = anchorsOf(t, maxSeq, opts, keyIds);
  earliest(checkBatches(t, limitSeq, maxSeq, opts.trustedKeyIds, keyIds));
  earliest(checkAnchors(anchors, limitSeq - 1, (seq) => hashAt.get(seq) as string | undefined));
  if (broken) return { ok: false, events: broken.seq - 1, brokenAt: broken.seq, reason: broken.reason };
  opts.onProgress?.(events);
  const status: ChainStatus = { ok: true, events, lastHash: prevHash };
  if (anchors.length) status.anchors = anchors.map((a) => ({ source: a.source, seq: a.seq }));
  if (keyIds.size) status.keyIds = [...keyIds].sort();
  if (notes.length) status.notes = notes;
  return status;
}

/** The checkpoint (or why it cannot vouch for the end of the trail) and the caller's anchors. */
function anchorsOf(
  t: DbVerifyTarget,
  maxSeq: number,
  opts: DbVerifyOptions,
  keyIds: Set<string>,
): { anchors: Anchor[]; notes: string[] } {
  const anchors: Anchor[] = [];
  const notes: string[] = [];
  const { file, read, required } = t.checkpoint;
  const source = 'the chain-head checkpoint';
  if ('checkpoint' in read) {
    const c = read.checkpoint;
    anchors.push(anchorFromCheckpoint(c, `${source} of ${c.time}`, opts.trustedKeyIds));
    keyIds.add(c.keyId);
    if (c.seq < maxSeq)
      notes.push(`the last ${maxSeq - c.seq} events are not anchored yet (the station stopped before refreshing ${file})`);
  } else if ('problem' in read) {
    anchors.push({
      seq: 0,
      hash: '',
      source,
      invalid: `${source} ${file} ${read.problem}: the end of the trail cannot be checked`,
    });
  } else if (maxSeq > 0 && required) {
    anchors.push({ seq: 0, hash: '', source, invalid: `${source} ${file} is missing: the end of the trail cannot be checked` });
  } else if (maxSeq > 0) {
    notes.push(
      'the end of this trail is not anchored: it was written before chain-head checkpoints (any station start adds one)',
    );
  }
  anchors.push(...(opts.anchors ?? []));
  return { anchors, notes };
}

function startWorkerOn(file: string, p: ChunkPlan): MessagePort {
  const { port1, port2 } = new MessageChannel();
  const input: VerifyWorkerInput = { file, plan: p, port: port2, sqlite: SQLITE_ENTRY };
  const w = startWorker(verifyWorkerModule(), input, { execArgv: [], transferList: [port2] });
  w.unref();
  return port1;
}

/**
 * Long chains: the calling thread and `threads - 1` workers take chunks from one shared plan
 * (chain-chunks.ts); the calling thread starts at once, workers join as soon as they are loaded.
 */
function walkAll(db: Database, file: string, maxSeq: number, threads: number, onProgress?: (n: number) => void): SegmentRun[] {
  if (threads === 1) return [{ from: 1, to: maxSeq, r: walkSegment(db, 1, maxSeq) }];
  const p = planChunks(maxSeq, threads);
  const ports = Array.from({ length: threads - 1 }, () => startWorkerOn(file, p));
  const failedWorker = () => {
    for (const port of ports) {
      const msg = receiveMessageOnPort(port)?.message as { error?: string } | undefined;
      if (msg?.error) return msg.error;
    }
    return undefined;
  };
  try {
    walkChunks(db, p);
    onProgress?.(walked(p));
    // Block (this path is synchronous) until the chunks the workers hold are walked.
    for (let waited = 0; !allSettled(p); waited++) {
      Atomics.wait(p.ctrl, SETTLED, Atomics.load(p.ctrl, SETTLED), 100);
      onProgress?.(walked(p));
      const error = failedWorker();
      if (error) throw new AuditError('AUDIT_VERIFY_FAILED', `a verify worker failed: ${error}`);
      if (waited > 6000) throw new AuditError('AUDIT_VERIFY_FAILED', 'a verify worker did not finish within 10 minutes');
    }
    const error = failedWorker();
    if (error) throw new AuditError('AUDIT_VERIFY_FAILED', `a verify worker failed: ${error}`);
    return chunkResults(db, p);
  } finally {
    for (const port of ports) port.close();
  }
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
  if (f.kind === 'canonical') return { seq, reason: `malformed event ${seq}: not in canonical form (${f.detail})` };
  if (f.kind === 'damaged') return { seq, reason: `event ${seq} cannot be read: ${damageReason({ message: f.detail })}` };
  const rows = db.prepare('SELECT seq, entry FROM events WHERE seq >= ? ORDER BY seq LIMIT 2').raw().all(seq) as [
    number,
    string,
  ][];
  if (rows.length === 0) return { seq, reason: `event ${seq} is missing (the chain ends at ${seq - 1})` };
  const [rowSeq, entry] = rows[0];
  if (rowSeq !== seq) return { seq, reason: `seq gap: event ${seq} is missing (event ${seq - 1} is followed by ${rowSeq})` };
  const claimed = typeof entry === 'string' ? bodySeq(entryBody(entry)) : undefined;
  return { seq, reason: `reordered: the row at seq ${seq} holds event ${claimed}` };
}

/**
 * The batches against the chain (before `limitSeq`): every batch-close event's signature, its
 * summary recomputed from the events, and its row in the batches table; rows the chain does not
 * back; and rows that record events past the end of the chain (the end was cut).
 */
function checkBatches(
  t: DbVerifyTarget,
  limitSeq: number,
  maxSeq: number,
  trustedKeyIds: readonly string[] | undefined,
  keyIds: Set<string>,
): Broken | undefined {
  const { db, batches } = t;
  const closes = db
    .prepare("SELECT seq, entry FROM events WHERE step = 'batch-close' AND seq < ? ORDER BY seq")
    .raw()
    .all(limitSeq) as [number, string][];
  const closedInChain = new Set<string>();
  let first: Broken | undefined;
  const keep = (b: Broken) => {
    if (!first || b.seq < first.seq) first = b;
  };
  for (const [seq, entry] of closes) {
    const problem = closeProblem(t, seq, entry, trustedKeyIds, keyIds);
    if (problem) {
      keep({ seq, reason: problem });
      break;
    }
    closedInChain.add(eventFromEntry(entry).batchId as string);
  }
  for (const b of batches.list()) {
    if (b.closeSeq !== undefined && b.closeSeq < limitSeq && b.closeSeq <= maxSeq && !closedInChain.has(b.id))
      keep({ seq: b.closeSeq, reason: `batch ${b.id} is marked closed but its batch-close event is missing` });
    const last = Math.max(b.openSeq, b.closeSeq ?? 0);
    if (last > maxSeq)
      keep({
        seq: maxSeq + 1,
        reason: `event ${maxSeq + 1} is missing: ${endsAt(maxSeq)}, but the batches table records batch ${b.id} at event ${last} (the end of the trail was cut)`,
      });
  }
  return first;
}

/** Why a batch-close event (at `seq`) does not hold: signature, recomputed summary, batches row. */
function closeProblem(
  t: DbVerifyTarget,
  seq: number,
  entry: string,
  trustedKeyIds: readonly string[] | undefined,
  keyIds: Set<string>,
): string | undefined {
  const { batches } = t;
  const e = eventFromEntry(entry);
  const problem = batchCloseProblem(e.batchId, e.data, trustedKeyIds);
  if (problem) return problem;
  const data = e.data as unknown as BatchCloseData;
  keyIds.add(data.signingKeyId);
  const stored = batches.get(data.batch.id);
  if (!stored) return `batch ${data.batch.id} is closed in the chain but missing from the batches table`;
  const openSeq = batches.openEventSeq(data.batch.id);
  const mismatch = summaryMismatch(data.summary, batches.computeSummary(data.batch.id, openSeq, seq));
  if (mismatch) return mismatch;
  if (
    stored.openSeq !== openSeq ||
    stored.closeSeq !== seq ||
    stored.signature !== data.signature ||
    canonicalJson(stored.summary) !== canonicalJson(data.summary)
  )
    return `batches table entry for ${data.batch.id} differs from its signed batch-close event`;
  return undefined;
}
