// Verification of a selection export's events as they are read (docs/audit-trail.md,
// "Verifying a selection"): each event's hash, the link between neighbours that are neighbours
// in the chain too, batch signatures, then the signed trailer's count and digest. A problem at an
// event whose seq could be read is at that seq; every other problem is at the seq after the last
// verified event.
import { bodyOfEvent } from './audit-canonical.ts';
import type { AuditEvent, ChainStatus } from './audit-types.ts';
import { type BatchCloseData, batchCloseProblem } from './batch-summary.ts';
import { GENESIS_HASH, hashBody } from './chain-link.ts';
import {
  parseSelectionTrailer,
  SelectionDigest,
  type SelectionHeader,
  type SelectionTrailer,
  selectionTrailerProblem,
} from './selection-envelope.ts';

/** Said with every verified selection (the CLI prints it, `--json` carries it). */
export const SELECTION_NOTE =
  'a selection cannot prove that nothing was left out of the search: it proves that these events are unchanged since they were written and that the station signed exactly this set. To know nothing is missing, verify the trail itself (imprint audit verify --data) or an unfiltered export.';

export class SelectionChecker {
  private last = 0;
  private lastHash?: string;
  private readonly digest = new SelectionDigest();
  private broken?: { seq: number; reason: string };
  private signedBatches = 0;
  private readonly keyIds = new Set<string>();

  constructor(
    private readonly header: SelectionHeader,
    private readonly trustedKeyIds?: readonly string[],
  ) {}

  get done(): boolean {
    return this.broken !== undefined;
  }

  /** A problem not at a readable event: at the seq after the last verified one. */
  fail(reason: string): void {
    this.broken ??= { seq: this.last + 1, reason };
  }

  parseTrailer(text: string): SelectionTrailer | string {
    return parseSelectionTrailer(text);
  }

  push(e: AuditEvent): void {
    if (this.broken) return;
    if (e.seq <= this.last) {
      this.fail(`reordered: event ${e.seq} comes after event ${this.last} (a selection is in chain order)`);
      return;
    }
    const problem = this.eventProblem(e);
    if (problem) {
      this.broken = { seq: e.seq, reason: problem };
      return;
    }
    this.last = e.seq;
    this.lastHash = e.hash;
    this.digest.add(e.hash);
  }

  /** Why this event is not as written: its link to a chain neighbour, its hash, a batch signature. */
  private eventProblem(e: AuditEvent): string | undefined {
    const linked = e.seq === 1 ? GENESIS_HASH : e.seq === this.last + 1 ? this.lastHash : undefined;
    if (linked !== undefined && e.prevHash !== linked)
      return `prevHash mismatch: event ${e.seq} does not link to event ${e.seq - 1} (one of them was rewritten)`;
    let body: string;
    try {
      body = bodyOfEvent(e);
    } catch {
      return `malformed event ${e.seq}`;
    }
    if (hashBody(body) !== e.hash) return `hash mismatch: the content of event ${e.seq} was changed`;
    if (e.step !== 'batch-close') return undefined;
    const problem = batchCloseProblem(e.batchId, e.data, this.trustedKeyIds);
    if (problem) return problem;
    this.signedBatches++;
    this.keyIds.add((e.data as unknown as BatchCloseData).signingKeyId);
    return undefined;
  }

  finish(trailer: SelectionTrailer | undefined): ChainStatus {
    if (!this.broken) {
      if (!trailer) this.fail('the selection ends without its signed trailer');
      else {
        const read = { events: this.digest.count, digest: this.digest.hex() };
        const problem = selectionTrailerProblem(this.header, trailer, read, this.trustedKeyIds);
        if (problem) this.fail(problem);
      }
    }
    if (this.broken) return { ok: false, events: this.digest.count, ...this.brokenAt() };
    this.keyIds.add(this.header.keyId);
    return {
      ok: true,
      events: this.digest.count,
      lastHash: this.lastHash ?? GENESIS_HASH,
      signedBatches: this.signedBatches,
      keyIds: [...this.keyIds].sort(),
      selection: this.header.selection,
      notes: [SELECTION_NOTE],
    };
  }

  private brokenAt(): { brokenAt: number; reason: string } {
    const b = this.broken as { seq: number; reason: string };
    return { brokenAt: b.seq, reason: b.reason };
  }
}
