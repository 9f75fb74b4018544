// Shift and batch counters and the recent failures, taken from the audit trail when the station
// opens and kept current by its appends: a restart or a settings change (which reopens the
// station) shows the same numbers, because the trail is the only thing counted.
import type { AuditEvent } from '../audit/audit-types.ts';
import { FAILURES } from './failure-codes.ts';
import type { RecentFailure } from './plant-types.ts';

/** What the counters read from the trail (the audit trail's query methods). */
export interface CountedTrail {
  query(q: { step?: string; outcome?: 'ok' | 'fail' | 'info'; from?: string; batchId?: string; limit?: number }): AuditEvent[];
  queryPage(q: { step?: string; outcome?: 'ok' | 'fail' | 'info'; from?: string; batchId?: string; limit?: number }): {
    total: number;
  };
  currentBatch(): { id: string } | undefined;
}

export interface TrailCountersView {
  done: number;
  passed: number;
  failed: number;
  devicesPerHour: number;
  since: string;
  batch?: { passed: number; failed: number };
}

const HOUR_MS = 3_600_000;
export const RECENT_FAILURES = 10;

/** The shift starts when a line operator signs in (an admin's PIN unlock does not start one). */
function startsShift(e: AuditEvent): boolean {
  return e.step === 'sign-in' && e.outcome === 'info' && (e.data as { role?: string } | undefined)?.role !== 'admin';
}

function failureOf(e: AuditEvent): RecentFailure {
  const code = e.errorCode ?? 'UNKNOWN';
  const known = (FAILURES as Record<string, { message: string; action: string } | undefined>)[code];
  return {
    fixtureId: e.fixture ?? '',
    deviceId: e.deviceId,
    hardwareSerial: e.hardwareSerial,
    failure: {
      code,
      message: e.message ?? known?.message ?? 'The device failed',
      action: known?.action ?? 'Set the device aside and tell your supervisor.',
    },
    at: e.ts,
  };
}

export class TrailCounters {
  private since: string;
  private passed = 0;
  private failed = 0;
  /** Times of the record events of the last hour (for devices per hour). */
  private lastHour: number[] = [];
  private batch?: { id: string; passed: number; failed: number };
  private recent: RecentFailure[] = [];

  constructor(trail: CountedTrail, now = Date.now()) {
    const signIn = trail.query({ step: 'sign-in', outcome: 'info', limit: 200 }).find(startsShift);
    this.since = signIn?.ts ?? new Date(now).toISOString();
    const count = (q: { outcome: 'ok' | 'fail'; from?: string; batchId?: string }) =>
      trail.queryPage({ step: 'record', limit: 1, ...q }).total;
    if (signIn) {
      this.passed = count({ outcome: 'ok', from: signIn.ts });
      this.failed = count({ outcome: 'fail', from: signIn.ts });
    }
    const hourAgo = new Date(now - HOUR_MS).toISOString();
    const from = signIn && signIn.ts > hourAgo ? signIn.ts : hourAgo;
    this.lastHour = signIn ? trail.query({ step: 'record', from, limit: 10_000 }).map((e) => Date.parse(e.ts)) : [];
    const open = trail.currentBatch();
    if (open)
      this.batch = {
        id: open.id,
        passed: count({ outcome: 'ok', batchId: open.id }),
        failed: count({ outcome: 'fail', batchId: open.id }),
      };
    this.recent = trail.query({ step: 'record', outcome: 'fail', limit: RECENT_FAILURES }).map(failureOf);
  }

  /** Takes an appended event; true when the counters changed. */
  take(e: AuditEvent): boolean {
    if (startsShift(e)) {
      this.since = e.ts;
      this.passed = 0;
      this.failed = 0;
      this.lastHour = [];
      return true;
    }
    if (e.step === 'batch-open' && e.batchId) {
      this.batch = { id: e.batchId, passed: 0, failed: 0 };
      return true;
    }
    if (e.step === 'batch-close' && e.batchId === this.batch?.id) {
      this.batch = undefined;
      return true;
    }
    if (e.step !== 'record' || (e.outcome !== 'ok' && e.outcome !== 'fail')) return false;
    const pass = e.outcome === 'ok';
    if (pass) this.passed++;
    else {
      this.failed++;
      this.recent = [failureOf(e), ...this.recent].slice(0, RECENT_FAILURES);
    }
    if (this.batch && e.batchId === this.batch.id) {
      if (pass) this.batch.passed++;
      else this.batch.failed++;
    }
    this.lastHour.push(Date.parse(e.ts));
    return true;
  }

  counters(now = Date.now()): TrailCountersView {
    const hourAgo = now - HOUR_MS;
    while (this.lastHour.length > 0 && this.lastHour[0] < hourAgo) this.lastHour.shift();
    // Over the last hour, or over the shift while it is younger than an hour.
    const window = Math.max(Math.min(now - Date.parse(this.since), HOUR_MS), 60_000);
    return {
      done: this.passed + this.failed,
      passed: this.passed,
      failed: this.failed,
      devicesPerHour: Math.round((this.lastHour.length * HOUR_MS) / window),
      since: this.since,
      batch: this.batch && { passed: this.batch.passed, failed: this.batch.failed },
    };
  }

  recentFailures(): RecentFailure[] {
    return this.recent.map((f) => ({ ...f, failure: { ...f.failure } }));
  }
}
