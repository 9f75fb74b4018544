// QA's search: one page of events (newest first) with the total of every match, and `find`, a
// case-insensitive prefix of the device id, serial, operator or the batch's work order. Every
// term is an index range (NOCASE indexes, audit-schema.ts migration 4): no table scan, so a count
// costs what its matches cost, not what the trail holds. A broad find (one of its ranges holds
// more than BROAD_FIND events, e.g. "op" on every operator) would cost that much: its page takes
// the newest matches without reading the others (broad-find.ts), and its total is counted up to a cap.
import type Database from 'better-sqlite3';
import { AuditError } from './audit-errors.ts';
import { DEFAULT_QUERY_LIMIT, filterOf, MAX_QUERY_LIMIT, NOCASE_COLUMNS } from './audit-query.ts';
import type { AuditEvent, AuditQuery } from './audit-types.ts';
import { BroadFind, type FindBranch } from './broad-find.ts';

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
  /** `total` is a lower bound: at least `total` events match (a broad find is counted up to a cap). */
  totalCapped?: true;
}

/** A find range holding more events than this makes the find broad (see the file's comment). */
export const BROAD_FIND = 10_000;
/** A broad find alone, in one range, is counted from its index up to this (about 20 ms). */
export const TOTAL_CAP = 100_000;
/** A broad find with other filters is counted on the rows up to this (about 5 µs a row). */
export const COUNT_CAP = 10_000;

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
    throw new AuditError('AUDIT_INVALID_QUERY', `find needs at least ${MIN_FIND_LENGTH} characters`);
  return f;
}

interface Condition {
  sql: string;
  params: (string | number)[];
}

interface Term extends Condition {
  /** find: its prefix ranges, one per column (any may match); `sql` is then unused. */
  branches?: FindBranch[];
}

/** A search as index terms and a seq range (a time range becomes one: seq and ts grow together). */
export interface SearchPlan {
  terms: Term[];
  /** Inclusive; undefined ends are open. */
  range: { from?: number; to?: number };
  /** Nothing can match (e.g. no event in the time range). */
  empty: boolean;
}

/**
 * The terms of a search. Work orders are looked up in the (small) batches table first, so their
 * events come from the batch index; times are looked up once in the ts index and become a seq range.
 */
export function planSearch(db: Database.Database, q: AuditSearch): SearchPlan {
  const { where, params } = filterOf({ ...q, from: undefined, to: undefined });
  const terms: Term[] = [];
  let at = 0;
  for (const w of where) {
    const n = (w.match(/\?/g) ?? []).length;
    terms.push({ sql: w, params: params.slice(at, at + n) });
    at += n;
  }
  const range: SearchPlan['range'] = {};
  let empty = false;
  const times = filterOf({ from: q.from, to: q.to });
  for (const [i, w] of times.where.entries()) {
    const ts = times.params[i] as string;
    const seq = w.startsWith('ts >=')
      ? db.prepare('SELECT seq FROM events WHERE ts >= ? ORDER BY ts, seq LIMIT 1').pluck().get(ts)
      : db.prepare('SELECT seq FROM events WHERE ts <= ? ORDER BY ts DESC, seq DESC LIMIT 1').pluck().get(ts);
    if (seq === undefined) empty = true;
    else if (w.startsWith('ts >=')) range.from = seq as number;
    else range.to = seq as number;
  }
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) empty = true;
  if (q.find !== undefined && q.find !== '') {
    const from = foldAscii(checkFind(q.find));
    const to = from + AFTER_PREFIX;
    // rowFilter: the same test on a row already read (`+col` keeps SQLite from using an index for it).
    const branches: FindBranch[] = [...NOCASE_COLUMNS].map((col) => ({
      column: col,
      sql: `${col} >= ? COLLATE NOCASE AND ${col} < ? COLLATE NOCASE`,
      rowFilter: `+${col} >= ? COLLATE NOCASE AND +${col} < ? COLLATE NOCASE`,
      params: [from, to],
    }));
    const batchIds = db
      .prepare('SELECT id FROM batches WHERE work_order >= ? COLLATE NOCASE AND work_order < ? COLLATE NOCASE')
      .pluck()
      .all(from, to) as string[];
    if (batchIds.length > 0) {
      const list = batchIds.map(() => '?').join(', ');
      branches.push({ sql: `batch_id IN (${list})`, rowFilter: `+batch_id IN (${list})`, params: batchIds, values: batchIds });
    }
    terms.unshift({ sql: '', params: [], branches });
  }
  return { terms, range, empty };
}

/** `seq` bounds as SQL (each branch gets them, so (column, seq) indexes read only the range). */
function rangeSql(r: { from?: number; to?: number; before?: number }): { sql: string[]; params: number[] } {
  const sql: string[] = [];
  const params: number[] = [];
  if (r.from !== undefined) {
    sql.push('seq >= ?');
    params.push(r.from);
  }
  if (r.to !== undefined) {
    sql.push('seq <= ?');
    params.push(r.to);
  }
  if (r.before !== undefined) {
    sql.push('seq < ?');
    params.push(r.before);
  }
  return { sql, params };
}

/** A term as a set of seq within the range; with several terms, their intersection. */
function seqSet(
  terms: Term[],
  r: { sql: string[]; params: number[] },
  dedupe: boolean,
): { sql: string; params: (string | number)[] } {
  const and = r.sql.length ? ` AND ${r.sql.join(' AND ')}` : '';
  const parts = terms.map((t) => {
    if (!t.branches) return { sql: `SELECT seq FROM events WHERE ${t.sql}${and}`, params: [...t.params, ...r.params] };
    return {
      sql: t.branches
        .map((b) => `SELECT seq FROM events WHERE ${b.sql}${and}`)
        .join(dedupe || terms.length > 1 ? ' UNION ' : ' UNION ALL '),
      params: t.branches.flatMap((b) => [...b.params, ...r.params]),
    };
  });
  return {
    sql: parts.map((p) => (parts.length > 1 ? `SELECT seq FROM (${p.sql})` : p.sql)).join(' INTERSECT '),
    params: parts.flatMap((p) => p.params),
  };
}

/** The SQL of a page (one row more than `limit`) and of the total of every match. */
export function searchSql(
  plan: SearchPlan,
  q: AuditSearch,
  limit: number,
): { empty: boolean; page: string; pageParams: (string | number)[]; count: string; countParams: (string | number)[] } {
  const pageRange = rangeSql({ ...plan.range, before: q.beforeSeq });
  const countRange = rangeSql(plan.range);
  let page: { sql: string; params: (string | number)[] };
  let count: { sql: string; params: (string | number)[] };
  if (plan.terms.length === 0) {
    const where = pageRange.sql.length ? ` WHERE ${pageRange.sql.join(' AND ')}` : '';
    page = { sql: `SELECT entry FROM events${where} ORDER BY seq DESC LIMIT ?`, params: [...pageRange.params, limit + 1] };
    // seq runs 1..head without gaps (append-only): a range's count is arithmetic.
    count = {
      sql: 'SELECT max(0, min(coalesce(?, head), head) - coalesce(?, 1) + 1) FROM (SELECT coalesce(max(seq), 0) AS head FROM events)',
      params: [plan.range.to ?? null, plan.range.from ?? null] as (string | number)[],
    };
  } else if (plan.terms.length === 1 && !plan.terms[0].branches) {
    const t = plan.terms[0];
    const and = (r: { sql: string[] }) => (r.sql.length ? ` AND ${r.sql.join(' AND ')}` : '');
    page = {
      sql: `SELECT entry FROM events WHERE ${t.sql}${and(pageRange)} ORDER BY seq DESC LIMIT ?`,
      params: [...t.params, ...pageRange.params, limit + 1],
    };
    count = { sql: `SELECT count(*) FROM events WHERE ${t.sql}${and(countRange)}`, params: [...t.params, ...countRange.params] };
  } else {
    // Several terms (or find's union): sets of seq from covering indexes, no event row read,
    // then only the page's rows.
    const pageSet = seqSet(plan.terms, pageRange, false);
    const countSet = seqSet(plan.terms, countRange, true);
    page = {
      sql: `SELECT entry FROM events WHERE seq IN (${pageSet.sql}) ORDER BY seq DESC LIMIT ?`,
      params: [...pageSet.params, limit + 1],
    };
    count = { sql: `SELECT count(*) FROM (${countSet.sql})`, params: countSet.params };
  }
  return { empty: plan.empty, page: page.sql, pageParams: page.params, count: count.sql, countParams: count.params };
}

/** The filter of a search as WHERE terms over `events` (exports walk every match with it). */
export function pageFilter(db: Database.Database, q: AuditSearch): { where: string[]; params: (string | number)[] } {
  const plan = planSearch(db, q);
  if (plan.empty) return { where: ['0'], params: [] };
  const r = rangeSql(plan.range);
  if (plan.terms.length === 0) return { where: r.sql, params: r.params };
  const set = seqSet(plan.terms, r, false);
  return { where: [`seq IN (${set.sql})`], params: set.params };
}

export class AuditPageReader {
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly decode: (entry: string) => AuditEvent,
    /** BROAD_FIND; tests set a small one to compare both paths on a small trail. */
    private readonly broadAt = BROAD_FIND,
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

  private limitOf(q: AuditSearch): number {
    const limit = q.limit ?? DEFAULT_QUERY_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT)
      throw new AuditError('AUDIT_INVALID_QUERY', `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
    return limit;
  }

  /** The SQL of a page and of its total, exact (for EXPLAIN in tests and the bench). */
  sql(q: AuditSearch): ReturnType<typeof searchSql> {
    return searchSql(planSearch(this.db, q), q, this.limitOf(q));
  }

  page(q: AuditSearch): AuditPage {
    const limit = this.limitOf(q);
    const plan = planSearch(this.db, q);
    if (plan.empty) return { events: [], total: 0 };
    const counts = this.broadCounts(plan);
    if (counts) return this.broadPage(plan, q, limit, counts);
    const s = searchSql(plan, q, limit);
    const rows = this.stmt(s.page).all(...s.pageParams) as string[];
    const events = rows.slice(0, limit).map(this.decode);
    const total = this.stmt(s.count).get(...s.countParams) as number;
    return { events, total, nextBeforeSeq: rows.length > limit ? events.at(-1)?.seq : undefined };
  }

  /** How many events each of find's ranges holds, counted from its index up to `cap` + 1. */
  private branchCounts(plan: SearchPlan, cap: number): number[] {
    const branches = plan.terms.find((t) => t.branches)?.branches ?? [];
    const r = rangeSql(plan.range);
    const and = r.sql.length ? ` AND ${r.sql.join(' AND ')}` : '';
    return branches.map(
      (b) =>
        this.stmt(`SELECT count(*) FROM (SELECT 1 FROM events WHERE ${b.sql}${and} LIMIT ?)`).get(
          ...b.params,
          ...r.params,
          cap + 1,
        ) as number,
    );
  }

  /** A find with a range of more than `broadAt` events: its ranges' counts (up to `broadAt` + 1). */
  private broadCounts(plan: SearchPlan): number[] | undefined {
    if (!plan.terms.some((t) => t.branches)) return undefined;
    const counts = this.branchCounts(plan, this.broadAt);
    return counts.some((n) => n > this.broadAt) ? counts : undefined;
  }

  /**
   * A broad find's total. Alone, one range: counted from its index (no event read) up to
   * TOTAL_CAP. Alone, several ranges: their union is at least the largest (an event can be in
   * two). With other filters: the rows are tested, up to COUNT_CAP matches.
   */
  private broadTotal(plan: SearchPlan, filter: Condition & { where: string[] }): Pick<AuditPage, 'total' | 'totalCapped'> {
    const lowerBound = (n: number, cap: number) => (n > cap ? { total: cap, totalCapped: true as const } : { total: n });
    if (plan.terms.length === 1) {
      const counts = this.branchCounts(plan, TOTAL_CAP).filter((n) => n > 0);
      if (counts.length === 1) return lowerBound(counts[0], TOTAL_CAP);
      return { total: Math.min(Math.max(...counts), TOTAL_CAP), totalCapped: true };
    }
    const r = rangeSql(plan.range);
    const counted = this.stmt(
      `SELECT count(*) FROM (SELECT 1 FROM events WHERE ${[...filter.where, ...r.sql].join(' AND ')} LIMIT ?)`,
    ).get(...filter.params, ...r.params, COUNT_CAP + 1) as number;
    return lowerBound(counted, COUNT_CAP);
  }

  /**
   * A broad find's page. Alone: its newest matches from the index (broad-find.ts). With other
   * filters: their index newest first, find tested on each row (a row costs ~3-5 µs: this is
   * fast while the other filters are selective or find's matches are dense among them).
   */
  private broadPage(plan: SearchPlan, q: AuditSearch, limit: number, counts: number[]): AuditPage {
    const filter = this.rowFilter(plan);
    const from = plan.range.from ?? 1;
    let to = Math.min(q.beforeSeq ?? Number.MAX_SAFE_INTEGER, (plan.range.to ?? Number.MAX_SAFE_INTEGER - 1) + 1);
    to = Math.min(to, ((this.stmt('SELECT max(seq) FROM events').get() as number | null) ?? 0) + 1);
    let rows: string[];
    if (plan.terms.length === 1) {
      const branches = plan.terms[0].branches ?? [];
      const seqs = new BroadFind((sql) => this.stmt(sql), branches, counts, this.broadAt).seqs(from, to, limit + 1);
      rows = this.stmt('SELECT entry FROM events WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq DESC').all(
        JSON.stringify(seqs),
      ) as string[];
    } else {
      // SQLite walks the other filters' (column, seq) index newest first and tests find on each row.
      rows = this.stmt(
        `SELECT entry FROM events WHERE ${[...filter.where, 'seq >= ?', 'seq < ?'].join(' AND ')} ORDER BY seq DESC LIMIT ?`,
      ).all(...filter.params, from, to, limit + 1) as string[];
    }
    const events = rows.slice(0, limit).map(this.decode);
    const nextBeforeSeq = rows.length > limit ? events.at(-1)?.seq : undefined;
    return { events, ...this.broadTotal(plan, filter), nextBeforeSeq };
  }

  /** Every term of a search as a test on a row: find's ranges without their indexes, the others as they are. */
  private rowFilter(plan: SearchPlan): Condition & { where: string[] } {
    const sql: string[] = [];
    const params: (string | number)[] = [];
    for (const t of plan.terms) {
      if (t.branches) {
        sql.push(`(${t.branches.map((b) => `(${b.rowFilter})`).join(' OR ')})`);
        params.push(...t.branches.flatMap((b) => b.params));
      } else {
        sql.push(t.sql);
        params.push(...t.params);
      }
    }
    return { sql: sql.join(' AND '), where: sql, params };
  }

  /** The query plans of a page and its total (exact; a broad find's page reads windows of seq). */
  explain(q: AuditSearch): string[] {
    const s = this.sql(q);
    const plan = (sql: string, p: (string | number)[]) =>
      (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...p) as { detail: string }[]).map((r) => r.detail);
    return [...plan(s.page, s.pageParams), ...plan(s.count, s.countParams)];
  }
}
