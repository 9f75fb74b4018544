// The central audit store contract: every station's hash chain as received, one row per event with
// the canonical body its hash covers, and the head of each chain. `append` reads the head, lets the
// caller check the events against it (central-audit.ts) and stores them, in one transaction, so two
// instances receiving the same station's chunks can neither fork nor interleave the chain.
import type { AuditEvent, AuditOutcome } from '../../audit/audit-types.ts';

export interface ChainHead {
  station: string;
  lastSeq: number;
  lastHash: string;
}

export interface CentralEventRow {
  seq: number;
  hash: string;
  body: string;
  ts: string;
  deviceId: string | null;
  hardwareSerial: string | null;
  batchId: string | null;
  operator: string | null;
  step: string;
  outcome: string;
}

/** Checks events against the stored head; returns what to store, or throws (nothing is stored). */
export type ChainPlanner = (
  stored: ChainHead | undefined,
  storedHash: (seq: number) => string | undefined,
) => { rows: CentralEventRow[]; head: ChainHead };

/** Equality filters (column = value) and a time range, already validated. */
export interface CentralEventFilter {
  station?: string;
  deviceId?: string;
  hardwareSerial?: string;
  batchId?: string;
  operator?: string;
  step?: string;
  outcome?: AuditOutcome;
  /** ISO 8601, inclusive. */
  from?: string;
  to?: string;
  /** Seq range, inclusive. */
  fromSeq?: number;
  toSeq?: number;
  /** Keyset paging: only events after this one in the query's order (ts newest first, then station, then seq newest first). */
  after?: CentralEventKey;
  limit: number;
}

/** Where an event sits in the central query's order. */
export interface CentralEventKey {
  ts: string;
  station: string;
  seq: number;
}

export interface CentralAuditStore {
  head(realm: string, station: string): Promise<ChainHead | undefined>;
  heads(realm: string): Promise<ChainHead[]>;
  /**
   * Atomically: reads the stored head and the stored hashes of `seqs` that are at or below it,
   * calls `plan`, stores its rows and its head, and moves the station's enrolled `verified_up_to` along
   * when it reached the old head. Returns the head stored.
   */
  append(realm: string, station: string, seqs: number[], plan: ChainPlanner, at: string): Promise<ChainHead>;
  /** A station's stored events from `fromSeq` on, in seq order (end-to-end checks of the central copy). */
  events(realm: string, station: string, fromSeq: number, limit: number): Promise<{ hash: string; body: string }[]>;
  /** Stored events (hash and canonical body), newest first: by time, then station and seq. */
  query(realm: string, filter: CentralEventFilter): Promise<{ hash: string; body: string }[]>;
}

/** Filter fields and their columns, in the order engines add them to a WHERE clause. */
export const CENTRAL_FILTER_COLUMNS = [
  ['station', 'station'],
  ['deviceId', 'device_id'],
  ['hardwareSerial', 'hardware_serial'],
  ['batchId', 'batch_id'],
  ['operator', 'operator'],
  ['step', 'step'],
  ['outcome', 'outcome'],
] as const satisfies readonly (readonly [keyof CentralEventFilter, string])[];

/** The query of `filter` for either engine (`placeholder(n)`: `?` or `$n`); the same SQL text for the same filter shape. */
export function centralQuerySql(
  realm: string,
  filter: CentralEventFilter,
  placeholder: (n: number) => string,
): { sql: string; params: (string | number)[] } {
  const params: (string | number)[] = [realm];
  const where = [`realm = ${placeholder(1)}`];
  const add = (cond: (p: string) => string, v: string | number) => {
    params.push(v);
    where.push(cond(placeholder(params.length)));
  };
  for (const [key, col] of CENTRAL_FILTER_COLUMNS) {
    const v = filter[key];
    if (v !== undefined && v !== '') add((p) => `${col} = ${p}`, v);
  }
  if (filter.from) add((p) => `ts >= ${p}`, filter.from);
  if (filter.to) add((p) => `ts <= ${p}`, filter.to);
  if (filter.fromSeq !== undefined) add((p) => `seq >= ${p}`, filter.fromSeq);
  if (filter.toSeq !== undefined) add((p) => `seq <= ${p}`, filter.toSeq);
  const a = filter.after;
  if (a) {
    // The order has mixed directions, so no row-value comparison: spelled out (the (realm, ts) index still serves it).
    const p = (v: string | number) => {
      params.push(v);
      return placeholder(params.length);
    };
    where.push(
      `(ts < ${p(a.ts)} OR (ts = ${p(a.ts)} AND (station > ${p(a.station)} OR (station = ${p(a.station)} AND seq < ${p(a.seq)}))))`,
    );
  }
  params.push(filter.limit);
  const sql = `SELECT hash, body FROM central_audit_events WHERE ${where.join(' AND ')} ORDER BY ts DESC, station, seq DESC LIMIT ${placeholder(params.length)}`;
  return { sql, params };
}

/** A stored event as the station chained it (its canonical body, with its hash). */
export function eventOf(r: { hash: string; body: string }): AuditEvent {
  const e = JSON.parse(r.body) as AuditEvent & { v?: number };
  delete e.v;
  e.hash = r.hash;
  return e;
}
