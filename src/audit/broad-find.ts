// The newest matches of a broad find (one of its prefix ranges holds more than BROAD_FIND events,
// e.g. "op" on every operator) without reading every match. A (column NOCASE, seq) index is in
// seq order within one value, not within a range of values, so each range is taken apart:
// - a range holding few events: read from its index and sorted (at most BROAD_FIND entries);
// - a range of few distinct values (operators, a work order's batches): each value's newest seqs
//   straight from the index (values found by skipping through the index, one seek each);
// - a range of many values holding many events (a serial prefix shared by half the trail): the
//   trail newest first in growing windows of seq, each row tested, for a bounded number of rows;
//   then, if the page is still not full (the matches are old), the range read whole from its
//   index (no event row), keeping the newest (SQLite's sorter holds only the page).
import type Database from 'better-sqlite3';

/** One of find's ranges: a NOCASE column's prefix range, or the batches of matching work orders. */
export interface FindBranch {
  sql: string;
  params: (string | number)[];
  /** The same test on a row already read (`+col`: no index). */
  rowFilter: string;
  /** The NOCASE column of a prefix range (params: its bounds). */
  column?: string;
  /** The batch ids of a work-order branch. */
  values?: string[];
}

/** Past this many distinct values a range is read in windows instead. */
const MAX_VALUES = 64;
/** Seqs a broad range is read in windows before the exact union takes over (rows cost ~3-5 µs each). */
const WINDOW_BUDGET = 16 * 1024;

export class BroadFind {
  constructor(
    /** A cached, plucked statement. */
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly branches: readonly FindBranch[],
    /** Each branch's events, counted up to `broadAt` + 1. */
    private readonly counts: readonly number[],
    private readonly broadAt: number,
  ) {}

  /** The newest `need` seqs in [from, to) matching any branch, newest first. */
  seqs(from: number, to: number, need: number): number[] {
    const found = new Set<number>();
    const add = (seqs: number[]) => {
      for (const s of seqs) found.add(s);
    };
    const wide: FindBranch[] = [];
    for (const [i, b] of this.branches.entries()) {
      if (this.counts[i] === 0) continue;
      if (this.counts[i] <= this.broadAt) {
        add(this.newest(b.sql, b.params, from, to, need));
        continue;
      }
      const values = b.column ? this.distinct(b.column, b.params) : b.values;
      if (!values) {
        wide.push(b);
        continue;
      }
      const eq = b.column ? `${b.column} = ? COLLATE NOCASE` : 'batch_id = ?';
      for (const v of values) add(this.newest(eq, [v], from, to, need));
    }
    if (wide.length) add(this.windows(wide, from, to, need));
    return [...found].sort((x, y) => y - x).slice(0, need);
  }

  private newest(sql: string, params: (string | number)[], from: number, to: number, need: number): number[] {
    return this.stmt(`SELECT seq FROM events WHERE ${sql} AND seq >= ? AND seq < ? ORDER BY seq DESC LIMIT ?`).all(
      ...params,
      from,
      to,
      need,
    ) as number[];
  }

  /** The distinct values (without case) in a prefix range, one index seek each; undefined past MAX_VALUES. */
  private distinct(col: string, [lo, hi]: (string | number)[]): string[] | undefined {
    const after = this.stmt(
      `SELECT ${col} FROM events WHERE ${col} > ? COLLATE NOCASE AND ${col} < ? COLLATE NOCASE ORDER BY ${col} COLLATE NOCASE LIMIT 1`,
    );
    const first = this.stmt(
      `SELECT ${col} FROM events WHERE ${col} >= ? COLLATE NOCASE AND ${col} < ? COLLATE NOCASE ORDER BY ${col} COLLATE NOCASE LIMIT 1`,
    );
    const out: string[] = [];
    for (let v = first.get(lo, hi) as string | undefined; v !== undefined; v = after.get(v, hi) as string | undefined) {
      if (out.length === MAX_VALUES) return undefined;
      out.push(v);
    }
    return out;
  }

  private windows(wide: FindBranch[], from: number, to: number, need: number): number[] {
    const params = wide.flatMap((b) => b.params);
    const window = this.stmt(
      `SELECT seq FROM events WHERE (${wide.map((b) => `(${b.rowFilter})`).join(' OR ')}) AND seq >= ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    );
    const out: number[] = [];
    let span = 4096;
    let read = 0;
    while (out.length < need && to > from && read < WINDOW_BUDGET) {
      const low = Math.max(from, to - span);
      out.push(...(window.all(...params, low, to, need - out.length) as number[]));
      read += to - low;
      to = low;
      span *= 2;
    }
    // The matches are older than the windows: each range read whole from its index, keeping its newest.
    if (out.length < need && to > from) for (const b of wide) out.push(...this.newest(b.sql, b.params, from, to, need));
    return out;
  }
}
