// AuditQuery → SQL over the indexed (generated) columns; newest first.
import { AuditError } from './audit-errors.ts';
import type { AuditQuery } from './audit-types.ts';

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 10_000;

const COLUMN: Record<string, string> = {
  deviceId: 'device_id',
  hardwareSerial: 'hardware_serial',
  batchId: 'batch_id',
  operator: 'operator',
  station: 'station',
  outcome: 'outcome',
  step: 'step',
};

function isoOrThrow(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new AuditError('AUDIT_INVALID_QUERY', `${name} is not a date/time: ${JSON.stringify(v)}`);
  return d.toISOString();
}

/** Columns kept in NOCASE indexes (`find` searches them); exact filters also compare them exactly. */
export const NOCASE_COLUMNS: ReadonlySet<string> = new Set(['device_id', 'hardware_serial', 'operator']);

/** The WHERE terms of a query's filters (not `beforeSeq` or `limit`), each served by an index. */
export function filterOf(q: AuditQuery): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [key, col] of Object.entries(COLUMN)) {
    const v = q[key as keyof AuditQuery];
    if (v === undefined || v === '') continue;
    // The NOCASE index finds the value; the exact comparison keeps the filter case-sensitive.
    if (NOCASE_COLUMNS.has(col)) {
      where.push(`${col} = ? COLLATE NOCASE AND ${col} = ?`);
      params.push(String(v), String(v));
    } else {
      where.push(`${col} = ?`);
      params.push(String(v));
    }
  }
  if (q.from) {
    where.push('ts >= ?');
    params.push(isoOrThrow('from', q.from));
  }
  if (q.to) {
    where.push('ts <= ?');
    params.push(isoOrThrow('to', q.to));
  }
  return { where, params };
}

/** The SQL and parameters for a query (exported so tests can EXPLAIN it). */
export function buildQuery(q: AuditQuery): { sql: string; params: (string | number)[] } {
  const { where, params } = filterOf(q);
  if (q.beforeSeq !== undefined) {
    where.push('seq < ?');
    params.push(q.beforeSeq);
  }
  const limit = q.limit ?? DEFAULT_QUERY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT)
    throw new AuditError('AUDIT_INVALID_QUERY', `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
  params.push(limit);
  // A time range alone is served in order by the ts index (ts follows seq, ties broken by seq);
  // with an equality filter its (column, seq) index gives the order and the range just filters.
  const timeOnly = (q.from || q.to) && where.length === (q.from ? 1 : 0) + (q.to ? 1 : 0) + (q.beforeSeq !== undefined ? 1 : 0);
  const order = timeOnly ? 'ts DESC, seq DESC' : 'seq DESC';
  const sql = `SELECT entry FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
  return { sql, params };
}
