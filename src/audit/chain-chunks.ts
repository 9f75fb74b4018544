// Verify's share-out of a long chain: fixed-size chunks of seqs that the threads take in turn from
// a shared counter, so a thread that starts late (a worker loads its modules through tsx first) or
// runs on a busy core simply walks fewer of them; with one fixed segment per thread, the slowest
// thread set the time. Shared memory only (Atomics): the calling thread of the synchronous verify()
// blocks meanwhile and cannot receive messages. Workers import it like every module.
import type { Database } from 'better-sqlite3';
import { type SegmentResult, walkSegment } from './chain-link.ts';

/** A chunk's state in `status`. */
export const PENDING = 0;
export const WALKED = 1;
/** Walked and found broken: the caller walks it again itself for the details. */
export const BROKEN = 2;
/** Not walked: an earlier chunk is broken, so nothing after it counts. */
export const SKIPPED = 3;

// Cells of `ctrl`.
const NEXT = 0;
/** Chunks settled (walked, broken or skipped): the caller waits on this cell. */
export const SETTLED = 1;
const FIRST_BROKEN = 2;

const MAX_CHUNK = 32_768;
/** Chunks per thread at least: what one thread is left walking alone at the end stays short. */
const CHUNKS_PER_THREAD = 8;

export interface ChunkPlan {
  maxSeq: number;
  size: number;
  count: number;
  ctrl: Int32Array;
  status: Int32Array;
  /** Per chunk: its walked rows so far (progress display). */
  progress: Int32Array;
  /** Per chunk: its first event's prevHash and its last hash, 128 ASCII hex digits. */
  hashes: Uint8Array;
}

export function planChunks(maxSeq: number, threads: number): ChunkPlan {
  const size = Math.max(1, Math.min(MAX_CHUNK, Math.ceil(maxSeq / (threads * CHUNKS_PER_THREAD))));
  const count = Math.ceil(maxSeq / size);
  const shared = (n: number) => new SharedArrayBuffer(n);
  const ctrl = new Int32Array(shared(12));
  ctrl[FIRST_BROKEN] = count;
  return {
    maxSeq,
    size,
    count,
    ctrl,
    status: new Int32Array(shared(4 * count)),
    progress: new Int32Array(shared(4 * count)),
    hashes: new Uint8Array(shared(128 * count)),
  };
}

export function chunkRange(p: ChunkPlan, i: number): { from: number; to: number } {
  return { from: i * p.size + 1, to: Math.min(p.maxSeq, (i + 1) * p.size) };
}

/** Takes and walks chunks until none is left (main thread and workers alike). */
export function walkChunks(db: Database, p: ChunkPlan): void {
  for (let i = Atomics.add(p.ctrl, NEXT, 1); i < p.count; i = Atomics.add(p.ctrl, NEXT, 1)) {
    let state = SKIPPED;
    if (i < Atomics.load(p.ctrl, FIRST_BROKEN)) {
      const { from, to } = chunkRange(p, i);
      const r = walkSegment(db, from, to, p.progress, i);
      if (r.failure || r.endSeq !== to) {
        state = BROKEN;
        let first = Atomics.load(p.ctrl, FIRST_BROKEN);
        while (i < first) {
          const seen = Atomics.compareExchange(p.ctrl, FIRST_BROKEN, first, i);
          if (seen === first) break;
          first = seen;
        }
      } else {
        state = WALKED;
        writeHex(p.hashes, 128 * i, r.firstPrevHash ?? '');
        writeHex(p.hashes, 128 * i + 64, r.lastHash ?? '');
      }
    }
    Atomics.store(p.status, i, state);
    Atomics.add(p.ctrl, SETTLED, 1);
    Atomics.notify(p.ctrl, SETTLED);
  }
}

/** Whether every chunk is settled. */
export function allSettled(p: ChunkPlan): boolean {
  return Atomics.load(p.ctrl, SETTLED) >= p.count;
}

/**
 * The chunks in chain order, up to and including the first broken one (a broken chunk is walked
 * again here, on `db`, for its failure's details).
 */
export function chunkResults(db: Database, p: ChunkPlan): { from: number; to: number; r: SegmentResult }[] {
  const out: { from: number; to: number; r: SegmentResult }[] = [];
  for (let i = 0; i < p.count; i++) {
    const range = chunkRange(p, i);
    const state = Atomics.load(p.status, i);
    if (state === WALKED) {
      const r: SegmentResult = {
        count: range.to - range.from + 1,
        firstPrevHash: readHex(p.hashes, 128 * i),
        lastHash: readHex(p.hashes, 128 * i + 64),
        endSeq: range.to,
      };
      out.push({ ...range, r });
      continue;
    }
    if (state !== BROKEN) throw new Error(`verify chunk ${i} was not walked (state ${state})`);
    out.push({ ...range, r: walkSegment(db, range.from, range.to) });
    break;
  }
  return out;
}

/** Rows walked so far, over every chunk. */
export function walked(p: ChunkPlan): number {
  let n = 0;
  for (let i = 0; i < p.count; i++) n += Atomics.load(p.progress, i);
  return n;
}

function writeHex(to: Uint8Array, at: number, hex: string): void {
  for (let k = 0; k < 64; k++) to[at + k] = hex.charCodeAt(k) || 0;
}

function readHex(from: Uint8Array, at: number): string | undefined {
  if (from[at] === 0) return undefined;
  return String.fromCharCode(...from.subarray(at, at + 64));
}
