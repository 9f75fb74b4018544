// QA's search: one page of events (newest first) with the total of every match, and `find`, a
// case-insensitive prefix of the device id, serial, operator or the batch's work order. Every
// term is an index range (NOCASE indexes, audit-schema.ts migration 4): no table scan, so a count
// costs what its matches cost, not what the trail holds.
import type Database from 'better-sqlite3';
import { ImprintError } from '../common/errors.ts';
import { DEFAULT_QUERY_LIMIT, filterOf, MAX_QUERY_LIMIT, NOCASE_COLUMNS } from './audit-query.ts';
import type { AuditEvent, AuditQuery } from './audit-types.ts';

export const MIN_FIND_LENGTH = 2;

/** A QA search: the query's filters and `find`, the start of a device id, serial, operator or work order (any case). */
export type AuditSearch = AuditQuery & { find?: string };

export interface AuditPage {
  /** Newest first, at most `limit`. */
  events: AuditEvent[];
  /** Every event matching the query, whatever `beforeSeq` and `limit` say. */
  total: number;
  /** The `beforeSeq` of the next (older) page; undefined on the last page. */
  nextBeforeSeq?: number;
}

/** Sorts after every string that starts with the prefix (the highest code point). */
const AFTER_PREFIX = '\u{10FFFF}';

/**
 * NOCASE folds ASCII letters only, so only those are folded here: the range's bounds then compare
 * as the index does.
 */
function foldAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function checkFind(find: string): string {
  const f = find.trim();
  if ([...f].length < MIN_FIND_LENGTH)
    throw new ImprintError('AUDIT_INVALID_QUERY', `Type at least ${MIN_FIND_LENGTH} characters to find by the start of a name`);
  return f;
}

export interface PageSql {
  /** The filter without paging (the total counts it). */
  where: string[];
  params: (string | number)[];
}

/**
 * The WHERE of a query with `find`: the events whose seq is in the union of the prefix ranges
 * (each one index), and the query's other filters. Work orders are looked up in the (small)
 * batches table first, so their events come from the batch index.
 */
export function pageFilter(db: Database.Database, q: AuditSearch): PageSql {
  const { where, params } = filterOf(q);
  if (q.find === undefined || q.find === '') return { where, params };
  const from = foldAscii(checkFind(q.find));
  const to = from + AFTER_PREFIX;
  const branches: string[] = [];
  const findParams: (string | number)[] = [];
  for (const col of NOCASE_COLUMNS) {
    branches.push(`SELECT seq FROM events WHERE ${col} >= ? COLLATE NOCASE AND ${col} < ? COLLATE NOCASE`);
    findParams.push(from, to);
  }
  const batchIds = db
    .prepare('SELECT id FROM batches WHERE work_order >= ? COLLATE NOCASE AND work_order < ? COLLATE NOCASE')
    .pluck()
    .all(from, to) as string[];
  if (batchIds.length > 0) {
    branches.push(`SELECT seq FROM events WHERE batch_id IN (${batchIds.map(() => '?').join(', ')})`);
    findParams.push(...batchIds);
  }
  return { where: [`seq IN (${branches.join(' UNION ALL ')})`, ...where], params: [...findParams, ...params] };
}

/**
 * The total of a search. One filter is counted on its own index; several are intersected as sets
 * of seq, each read from its covering (column, seq) index, so no event row (and no JSON) is read:
 * the cost follows the sizes of the filters, never the trail's.
 */
export function countSql(db: Database.Database, q: AuditSearch): { sql: string; params: (string | number)[] } {
  const { where, params } = pageFilter(db, q);
  if (where.length === 0) return { sql: 'SELECT coalesce(max(seq), 0) FROM events', params: [] };
  // Split the flat parameters back per term (each term's own `?`s), and keep a time range as one term.
  const terms: { sql: string; params: (string | number)[] }[] = [];
  let at = 0;
  for (const w of where) {
    const n = (w.match(/\?/g) ?? []).length;
    const t = { sql: w, params: params.slice(at, at + n) };
    at += n;
    const range = terms.find((x) => x.sql.startsWith('ts '));
    if (w.startsWith('ts ') && range) {
      range.sql += ` AND ${w}`;
      range.params.push(...t.params);
    } else terms.push(t);
  }
  if (terms.length === 1) return { sql: `SELECT count(*) FROM events WHERE ${terms[0].sql}`, params: terms[0].params };
  const branch = (t: { sql: string }) =>
    t.sql.startsWith('seq IN (') ? t.sql.slice('seq IN ('.length, -1).replaceAll(' UNION ALL ', ' UNION ') : `SELECT seq FROM events WHERE ${t.sql}`;
  return {
    sql: `SELECT count(*) FROM (${terms.map(branch).join(' INTERSECT ')})`,
    params: terms.flatMap((t) => t.params),
  };
}

export class AuditPageReader {
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly decode: (entry: string) => AuditEvent,
  ) {}

  private stmt(sql: string, pluck = true): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (pluck) s.pluck();
      // Filter combinations are few; statements with many batch ids are not kept.
      if (this.stmts.size < 200) this.stmts.set(sql, s);
    }
    return s;
  }

  /** The SQL of a page and of its total (for EXPLAIN in tests and the bench). */
  sql(q: AuditSearch): { page: string; count: string; pageParams: (string | number)[]; countParams: (string | number)[] } {
    const limit = q.limit ?? DEFAULT_QUERY_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT)
      throw new ImprintError('AUDIT_INVALID_QUERY', `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
    const { where, params } = pageFilter(this.db, q);
    const count = countSql(this.db, q);
    const pageWhere = q.beforeSeq !== undefined ? [...where, 'seq < ?'] : where;
    const pageParams = q.beforeSeq !== undefined ? [...params, q.beforeSeq] : [...params];
    const w = (terms: string[]) => (terms.length ? ` WHERE ${terms.join(' AND ')}` : '');
    return {
      // One row more than the page: whether an older page exists.
      page: `SELECT entry FROM events${w(pageWhere)} ORDER BY seq DESC LIMIT ?`,
      pageParams: [...pageParams, limit + 1],
      // No filter: seq runs 1..head without gaps (append-only), so the head is the count.
      count: count.sql,
      countParams: count.params,
    };
  }

  page(q: AuditSearch): AuditPage {
    const limit = q.limit ?? DEFAULT_QUERY_LIMIT;
    const s = this.sql(q);
    const rows = this.stmt(s.page).all(...s.pageParams) as string[];
    const events = rows.slice(0, limit).map(this.decode);
    const total = this.stmt(s.count).get(...s.countParams) as number;
    return { events, total, nextBeforeSeq: rows.length > limit ? events.at(-1)?.seq : undefined };
  }

  /** The query plans of a page and its total. */
  explain(q: AuditSearch): string[] {
    const s = this.sql(q);
    const plan = (sql: string, p: (string | number)[]) =>
      (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...p) as { detail: string }[]).map((r) => r.detail);
    return [...plan(s.page, s.pageParams), ...plan(s.count, s.countParams)];
  }
}
