// Incremental verification of a stream of exported events (CSV or JSON lines): links, hashes,
// contiguity and batch summaries, reporting the first broken place precisely.
import { bodyOfEvent } from './audit-canonical.ts';
import { RECORD_STEP } from './audit-event-schema.ts';
import type { AuditEvent, BatchSummary, ChainStatus } from './audit-types.ts';
import { type BatchCloseData, batchCloseProblem, summaryMismatch } from './batch-summary.ts';
import { GENESIS_HASH, hashBody } from './chain-link.mjs';

interface Broken {
  seq: number;
  reason: string;
}

interface Tally {
  summary: BatchSummary;
  opened: boolean;
}

export interface ChainCheckerOptions {
  /** Seq the export says it starts at (JSON lines header); undefined: accept the first row's seq. */
  fromSeq?: number;
  /** Only accept batch signatures by these key ids (default: any key embedded in the export). */
  trustedKeyIds?: readonly string[];
}

export class ChainChecker {
  private expected?: number;
  private prevHash?: string;
  private verified = 0;
  private firstSeq?: number;
  private broken?: Broken;
  /** A row whose seq was unexpected: the next row tells a gap from a reordering. */
  private pendingSeq?: { expected: number; found: number };
  private readonly tallies = new Map<string, Tally>();
  private signedBatches = 0;

  constructor(private readonly opts: ChainCheckerOptions = {}) {
    this.expected = opts.fromSeq;
  }

  get done(): boolean {
    return this.broken !== undefined;
  }

  /** Marks the stream as broken at a place only the caller can see (bad row syntax, trailer). */
  fail(seq: number, reason: string): void {
    this.resolvePending(undefined);
    this.broken ??= { seq, reason };
  }

  /** The seq the next row should have (for callers reporting a malformed row). */
  nextSeq(): number {
    return this.expected ?? 1;
  }

  push(e: AuditEvent): void {
    if (this.broken) return;
    if (this.pendingSeq) {
      this.resolvePending(e.seq);
      return;
    }
    if (this.expected === undefined) this.expected = e.seq;
    this.firstSeq ??= this.expected;
    if (e.seq !== this.expected) {
      this.pendingSeq = { expected: this.expected, found: e.seq };
      return;
    }
    const expectedPrev = this.prevHash ?? (e.seq === 1 ? GENESIS_HASH : e.prevHash);
    if (e.prevHash !== expectedPrev) {
      this.broken = {
        seq: e.seq,
        reason: `prevHash mismatch: event ${e.seq} does not link to event ${e.seq - 1} (one of them was rewritten)`,
      };
      return;
    }
    let body: string;
    try {
      body = bodyOfEvent(e);
    } catch {
      this.broken = { seq: e.seq, reason: `malformed event ${e.seq}` };
      return;
    }
    if (hashBody(body) !== e.hash) {
      this.broken = { seq: e.seq, reason: `hash mismatch: the content of event ${e.seq} was changed` };
      return;
    }
    const batchProblem = this.checkBatch(e);
    if (batchProblem) {
      this.broken = { seq: e.seq, reason: batchProblem };
      return;
    }
    this.prevHash = e.hash;
    this.expected = e.seq + 1;
    this.verified++;
  }

  /** `lastSeq`: what the export's trailer says the last event is (JSON lines), to detect truncation. */
  finish(trailer?: { lastSeq: number | null; events: number }): ChainStatus {
    this.resolvePending(undefined);
    if (!this.broken && trailer) {
      const lastSeen = this.expected === undefined ? null : this.expected - 1;
      if (trailer.lastSeq !== null && lastSeen !== trailer.lastSeq)
        this.broken = {
          seq: (lastSeen ?? 0) + 1,
          reason: `event ${(lastSeen ?? 0) + 1} is missing: the export ends early (trailer says ${trailer.lastSeq})`,
        };
    }
    if (this.broken) return { ok: false, events: this.verified, brokenAt: this.broken.seq, reason: this.broken.reason };
    return {
      ok: true,
      events: this.verified,
      lastHash: this.prevHash ?? GENESIS_HASH,
      firstSeq: this.firstSeq ?? 1,
      signedBatches: this.signedBatches,
    };
  }

  private resolvePending(nextSeq: number | undefined): void {
    const p = this.pendingSeq;
    if (!p) return;
    this.pendingSeq = undefined;
    if (nextSeq === p.expected)
      this.broken = { seq: p.expected, reason: `reordered: event ${p.expected} appears after event ${p.found}` };
    else if (p.found < p.expected)
      this.broken = { seq: p.expected, reason: `reordered: event ${p.found} appears again where event ${p.expected} belongs` };
    else
      this.broken = {
        seq: p.expected,
        reason: `seq gap: event ${p.expected} is missing (event ${p.expected - 1} is followed by ${p.found})`,
      };
  }

  private checkBatch(e: AuditEvent): string | undefined {
    if (!e.batchId) return undefined;
    let t = this.tallies.get(e.batchId);
    if (!t) {
      t = { summary: { total: 0, passed: 0, failed: 0, failuresByCode: {} }, opened: false };
      this.tallies.set(e.batchId, t);
    }
    if (e.step === 'batch-open') {
      t.opened = true;
      t.summary.firstEventHash = e.hash;
    } else if (e.step === 'batch-close') {
      const problem = batchCloseProblem(e.batchId, e.data, this.opts.trustedKeyIds);
      if (problem) return problem;
      this.signedBatches++;
      // Counts can only be recomputed when the whole batch is in this export.
      if (t.opened) return summaryMismatch((e.data as unknown as BatchCloseData).summary, t.summary);
      return undefined;
    } else if (e.step === RECORD_STEP) {
      const s = t.summary;
      s.total++;
      if (e.outcome === 'ok') s.passed++;
      else if (e.outcome === 'fail') {
        s.failed++;
        const code = e.errorCode ?? 'UNKNOWN';
        s.failuresByCode[code] = (s.failuresByCode[code] ?? 0) + 1;
      }
    }
    t.summary.lastEventHash = e.hash;
    return undefined;
  }
}
