// Incremental verification of a stream of exported events (CSV or JSON lines): links, hashes,
// contiguity, batch summaries and anchors, reporting the first broken place precisely.
import { type Anchor, checkAnchors } from './audit-anchor.ts';
import { bodyOfEvent } from './audit-canonical.ts';
import { RECORD_STEP } from './audit-event-schema.ts';
import type { AuditEvent, BatchSummary, ChainStatus } from './audit-types.ts';
import { type BatchCloseData, batchCloseProblem, summaryMismatch } from './batch-summary.ts';
import { GENESIS_HASH, hashBody } from './chain-link.ts';

interface Broken {
  seq: number;
  reason: string;
}

interface Tally {
  summary: BatchSummary;
  opened: boolean;
}

export interface ChainCheckerOptions {
  /** Seq the export says it starts at (its header); undefined: accept the first row's seq. */
  fromSeq?: number;
  /** Only accept batch signatures by these key ids (default: any key embedded in the export). */
  trustedKeyIds?: readonly string[];
  /** Events the export must hold with these hashes (see audit-anchor.ts). */
  anchors?: readonly Anchor[];
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
  private readonly keyIds = new Set<string>();
  /** Hashes of the events anchors name, as they go by. */
  private readonly anchored = new Map<number, string>();

  constructor(private readonly opts: ChainCheckerOptions = {}) {
    this.expected = opts.fromSeq;
    for (const a of opts.anchors ?? []) this.anchored.set(a.seq, '');
  }

  /** Events verified so far. */
  get events(): number {
    return this.verified;
  }

  /** The last verified event. */
  get last(): { seq: number; hash: string } | undefined {
    return this.prevHash === undefined || this.expected === undefined
      ? undefined
      : { seq: this.expected - 1, hash: this.prevHash };
  }

  /** Counts a key id whose signature the caller verified (the export's own). */
  addKeyId(keyId: string): void {
    this.keyIds.add(keyId);
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
    if (this.anchored.has(e.seq)) this.anchored.set(e.seq, e.hash);
  }

  /** Ends the stream: the anchors, then the verdict. Call after any trailer check (fail()). */
  finish(): ChainStatus {
    this.resolvePending(undefined);
    const firstSeq = this.firstSeq ?? this.opts.fromSeq ?? 1;
    const lastSeq = this.expected === undefined ? firstSeq - 1 : this.expected - 1;
    const anchors = this.opts.anchors ?? [];
    const before = anchors.find((a) => a.seq < firstSeq && !a.invalid);
    if (before)
      this.fail(
        firstSeq,
        `the export starts at event ${firstSeq}, after event ${before.seq} that ${before.source} records: it cannot be checked against it`,
      );
    const inRange = anchors.filter((a) => a.invalid || a.seq >= firstSeq);
    const anchorBreak = checkAnchors(inRange, Math.min(lastSeq, (this.broken?.seq ?? lastSeq + 1) - 1), (seq) =>
      this.anchored.get(seq),
    );
    if (anchorBreak && (!this.broken || anchorBreak.seq < this.broken.seq)) this.broken = anchorBreak;
    if (this.broken) return { ok: false, events: this.verified, brokenAt: this.broken.seq, reason: this.broken.reason };
    const status: ChainStatus = {
      ok: true,
      events: this.verified,
      lastHash: this.prevHash ?? GENESIS_HASH,
      firstSeq,
      signedBatches: this.signedBatches,
    };
    if (anchors.length) status.anchors = anchors.map((a) => ({ source: a.source, seq: a.seq }));
    if (this.keyIds.size) status.keyIds = [...this.keyIds].sort();
    return status;
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
    // A batch-close is checked even without a batchId (it then names another batch).
    if (e.step === 'batch-close') {
      const problem = batchCloseProblem(e.batchId, e.data, this.opts.trustedKeyIds);
      if (problem) return problem;
      this.signedBatches++;
      this.keyIds.add((e.data as unknown as BatchCloseData).signingKeyId);
    }
    if (!e.batchId) return undefined;
    let t = this.tallies.get(e.batchId);
    if (!t) {
      t = { summary: { total: 0, passed: 0, failed: 0, failuresByCode: {} }, opened: false };
      this.tallies.set(e.batchId, t);
    }
    if (e.step === 'batch-open') {
      t.opened = true;
      t.summary.firstEventHash ??= e.hash;
    } else if (e.step === 'batch-close') {
      // Counts can only be recomputed when the whole batch is in this export.
      const mismatch = t.opened && summaryMismatch((e.data as unknown as BatchCloseData).summary, t.summary);
      if (mismatch) return mismatch;
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
