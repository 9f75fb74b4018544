// The batches table (a convenience index of batch-open/close events) and the summary counts.
// The chain is the source of truth: verify() checks this table against the signed close events.
import type { Database, Statement } from 'better-sqlite3';
import { RECORD_STEP } from './audit-event-schema.ts';
import { ENTRY_HASH, ERROR_CODE } from './audit-schema.ts';
import type { Batch, BatchSummary } from './audit-types.ts';

interface BatchRow {
  id: string;
  work_order: string;
  operator: string;
  station: string;
  opened_at: string;
  closed_at: string | null;
  offline: number;
  open_seq: number;
  close_seq: number | null;
  summary: string | null;
  signature: string | null;
  signing_key_id: string | null;
  public_key: string | null;
}

export interface StoredBatch extends Batch {
  openSeq: number;
  closeSeq?: number;
  publicKey?: string;
}

function toBatch(r: BatchRow): StoredBatch {
  const b: StoredBatch = {
    id: r.id,
    workOrder: r.work_order,
    operator: r.operator,
    station: r.station,
    openedAt: r.opened_at,
    offline: r.offline === 1,
    openSeq: r.open_seq,
  };
  if (r.closed_at) b.closedAt = r.closed_at;
  if (r.close_seq !== null) b.closeSeq = r.close_seq;
  if (r.summary) b.summary = JSON.parse(r.summary) as BatchSummary;
  if (r.signature) b.signature = r.signature;
  if (r.signing_key_id) b.signingKeyId = r.signing_key_id;
  if (r.public_key) b.publicKey = r.public_key;
  return b;
}

/** Public shape of a stored batch (drops the internal seq bookkeeping). */
export function publicBatch(b: StoredBatch): Batch & { publicKey?: string } {
  const { openSeq: _o, closeSeq: _c, ...rest } = b;
  return rest;
}

export class BatchStore {
  private readonly insertStmt: Statement;
  private readonly closeStmt: Statement;
  private readonly getStmt: Statement;
  private readonly listStmt: Statement;
  private readonly openStmt: Statement;
  private readonly countStmt: Statement;
  private readonly lastHashStmt: Statement;
  private readonly hashAtStmt: Statement;
  private readonly openEventStmt: Statement;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      'INSERT INTO batches (id, work_order, operator, station, opened_at, offline, open_seq) VALUES (@id, @workOrder, @operator, @station, @openedAt, @offline, @openSeq)',
    );
    this.closeStmt = db.prepare(
      'UPDATE batches SET closed_at = @closedAt, offline = @offline, close_seq = @closeSeq, summary = @summary, signature = @signature, signing_key_id = @signingKeyId, public_key = @publicKey WHERE id = @id AND closed_at IS NULL',
    );
    this.getStmt = db.prepare('SELECT * FROM batches WHERE id = ?');
    this.listStmt = db.prepare('SELECT * FROM batches ORDER BY open_seq DESC');
    this.openStmt = db.prepare('SELECT * FROM batches WHERE closed_at IS NULL ORDER BY open_seq DESC LIMIT 1');
    // The partial index of record events finds this count's rows (it does not cover them: each row is
    // still read for its outcome and error code); left to itself the planner walks events_batch,
    // every event of the batch with each row's JSON read for its step.
    this.countStmt = db.prepare(
      `SELECT outcome, ${ERROR_CODE} AS code, count(*) AS n FROM events INDEXED BY events_batch_record WHERE batch_id = ? AND step = '${RECORD_STEP}' AND seq < ? GROUP BY outcome, code`,
    );
    this.lastHashStmt = db
      .prepare(`SELECT ${ENTRY_HASH} FROM events WHERE batch_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1`)
      .pluck();
    this.hashAtStmt = db.prepare(`SELECT ${ENTRY_HASH} FROM events WHERE seq = ?`).pluck();
    this.openEventStmt = db
      .prepare("SELECT seq FROM events WHERE batch_id = ? AND step = 'batch-open' ORDER BY seq LIMIT 1")
      .pluck();
  }

  insert(b: Batch, openSeq: number): void {
    this.insertStmt.run({
      id: b.id,
      workOrder: b.workOrder,
      operator: b.operator,
      station: b.station,
      openedAt: b.openedAt,
      offline: b.offline ? 1 : 0,
      openSeq,
    });
  }

  markClosed(
    b: Required<Pick<Batch, 'id' | 'closedAt' | 'offline' | 'summary' | 'signature' | 'signingKeyId'>> & {
      closeSeq: number;
      publicKey: string;
    },
  ): void {
    this.closeStmt.run({ ...b, offline: b.offline ? 1 : 0, summary: JSON.stringify(b.summary) });
  }

  get(id: string): StoredBatch | undefined {
    const r = this.getStmt.get(id) as BatchRow | undefined;
    return r && toBatch(r);
  }

  list(): StoredBatch[] {
    return (this.listStmt.all() as BatchRow[]).map(toBatch);
  }

  current(): StoredBatch | undefined {
    const r = this.openStmt.get() as BatchRow | undefined;
    return r && toBatch(r);
  }

  /** Seq of the batch's batch-open event in the chain (verify trusts the chain, not this table). */
  openEventSeq(batchId: string): number | undefined {
    return this.openEventStmt.get(batchId) as number | undefined;
  }

  /** Counts of the batch's record events before `beforeSeq` (one record event per device). */
  computeSummary(batchId: string, openSeq: number | undefined, beforeSeq: number): BatchSummary {
    const s: BatchSummary = { total: 0, passed: 0, failed: 0, failuresByCode: {} };
    for (const r of this.countStmt.all(batchId, beforeSeq) as { outcome: string; code: string | null; n: number }[]) {
      s.total += r.n;
      if (r.outcome === 'ok') s.passed += r.n;
      else if (r.outcome === 'fail') {
        s.failed += r.n;
        const code = r.code ?? 'UNKNOWN';
        s.failuresByCode[code] = (s.failuresByCode[code] ?? 0) + r.n;
      }
    }
    const first = openSeq === undefined ? undefined : (this.hashAtStmt.get(openSeq) as string | undefined);
    const last = this.lastHashStmt.get(batchId, beforeSeq) as string | undefined;
    if (first) s.firstEventHash = first;
    if (last) s.lastEventHash = last;
    return s;
  }
}
