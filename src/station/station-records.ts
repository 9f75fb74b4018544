// What the station has recorded, as the UI and QA read it: batches and their reports, searches,
// exports and the chain's verification, plus the station's own events (sign-ins, settings changes)
// stamped with its id and open batch. The transports call these; none of them touches the trail.

import { AuditError } from '../audit/audit-errors.ts';
import type { AuditPage, AuditSearch } from '../audit/audit-page-query.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEvent, AuditEventInput, AuditQuery, Batch, BatchSummary, ChainStatus } from '../audit/audit-types.ts';
import { LineFaultError, lineFaultOf } from './line-faults.ts';

export interface BatchReport {
  batch: Batch;
  summary: BatchSummary;
  throughputPerHour: { hour: string; passed: number; failed: number }[];
  failuresByCode: { code: string; count: number }[];
}

export type ExportFormat = 'csv' | 'jsonl';

export class StationRecords {
  constructor(
    private readonly trail: AuditTrail,
    /** The station's id as configured now (a settings change may rename it). */
    private readonly stationId: () => string,
  ) {}

  /**
   * Records one of the station's own events (not a device's step), in the open batch. A trail that
   * cannot record (full disk, storage fault) is a line fault, told in plain words.
   */
  async record(input: Omit<AuditEventInput, 'station'>): Promise<AuditEvent> {
    try {
      return await this.trail.append({ station: this.stationId(), batchId: this.trail.currentBatch()?.id, ...input });
    } catch (e) {
      const fault = lineFaultOf(e, 'audit');
      if (!fault) throw e;
      throw new LineFaultError(fault.code, fault.detail, { cause: e });
    }
  }

  currentBatch(): Batch | undefined {
    return this.trail.currentBatch();
  }

  listBatches(): Batch[] {
    return this.trail.listBatches();
  }

  /** A batch's summary (signed at close; counted from the trail while it is open), hours and failures. */
  batchReport(batchId: string): BatchReport {
    const batch = this.knownBatch(batchId);
    const stats = this.trail.stats({ batchId: batch.id });
    const passed = stats.throughputPerHour.reduce((n, h) => n + h.passed, 0);
    const failed = stats.throughputPerHour.reduce((n, h) => n + h.failed, 0);
    const summary: BatchSummary = batch.summary ?? {
      total: passed + failed,
      passed,
      failed,
      failuresByCode: Object.fromEntries(stats.failuresByCode.map((f) => [f.code, f.count])),
    };
    return { batch, summary, throughputPerHour: stats.throughputPerHour, failuresByCode: stats.failuresByCode };
  }

  query(q: AuditQuery): AuditEvent[] {
    return this.trail.query(q);
  }

  queryPage(q: AuditSearch): AuditPage {
    return this.trail.queryPage(q);
  }

  /** One row per device with its final outcome (the per-device CSV plants import into their MES). */
  exportDevices(q: AuditSearch): string {
    return this.trail.exportDevices(q);
  }

  /** Exactly the events of a search (a signed selection), or the chain of a batch / the whole trail. */
  export(opts: { format: ExportFormat; batchId?: string; query?: AuditSearch }): string {
    if (opts.query !== undefined) return this.trail.exportSelection({ format: opts.format, query: opts.query });
    if (opts.batchId !== undefined) this.knownBatch(opts.batchId);
    return this.trail.export({ format: opts.format, batchId: opts.batchId });
  }

  /** Verifies the chain on worker threads: the station keeps running meanwhile. */
  verify(): Promise<ChainStatus> {
    return this.trail.verifyAsync();
  }

  private knownBatch(batchId: string): Batch {
    const batch = typeof batchId === 'string' ? this.trail.getBatch(batchId) : undefined;
    if (!batch) throw new AuditError('AUDIT_UNKNOWN_BATCH', `batch ${String(batchId)}`);
    return batch;
  }
}
