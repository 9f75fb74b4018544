// Writing copied rows into the PostgreSQL store: a row whose key is new is inserted; one already
// there must be identical, else it is a conflict and nothing is overwritten. The caller runs every
// table in one transaction, so a copy with any conflict leaves the target as it was.
import type postgres from 'postgres';
import type { TxSql } from '../../db/postgres.ts';
import type { Row, TableSpec } from './sqlite-dump.ts';

export interface TableCopy {
  table: string;
  copied: number;
  alreadyThere: number;
  /** Keys of rows present with other values (at most 20 listed). */
  conflicts: string[];
  conflictCount: number;
}

/** PostgreSQL takes at most 65,535 parameters a statement. */
const MAX_PARAMS = 60_000;

const keyText = (t: TableSpec, r: Row) => t.key.map((k) => String(r[k])).join('/');

function sameRow(a: Row, b: Row, columns: string[]): boolean {
  return columns.every((c) => (a[c] ?? null) === (b[c] ?? null));
}

export async function copyTable(tx: TxSql, t: TableSpec, rows: Row[]): Promise<TableCopy> {
  const out: TableCopy = { table: t.name, copied: 0, alreadyThere: 0, conflicts: [], conflictCount: 0 };
  if (rows.length === 0) return out;
  const columns = Object.keys(rows[0]);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const inserted = await tx<Row[]>`
      INSERT INTO ${tx(t.name)} ${tx(chunk as Record<string, postgres.ParameterOrJSON<never>>[], columns)} ON CONFLICT (${tx(t.key)}) DO NOTHING RETURNING ${tx(t.key)}`;
    out.copied += inserted.length;
    if (inserted.length === chunk.length) continue;
    const fresh = new Set(inserted.map((r) => keyText(t, r)));
    const present = chunk.filter((r) => !fresh.has(keyText(t, r)));
    const stored = new Map((await storedRows(tx, t, present)).map((r) => [keyText(t, r), r]));
    for (const r of present) {
      const have = stored.get(keyText(t, r));
      if (have && sameRow(have, r, columns)) {
        out.alreadyThere++;
        continue;
      }
      out.conflictCount++;
      if (out.conflicts.length < 20) out.conflicts.push(keyText(t, r));
    }
  }
  return out;
}

/** The target's rows with the keys of `rows`, fetched in one query. */
async function storedRows(tx: TxSql, t: TableSpec, rows: Row[]): Promise<Row[]> {
  const arrays = t.key.map((k) => rows.map((r) => String(r[k])));
  const casts = t.key.map((k, i) => `$${i + 1}::${t.intKeys?.includes(k) ? 'bigint' : 'text'}[]`);
  const text = `SELECT s.* FROM ${t.name} s JOIN unnest(${casts.join(', ')}) AS k(${t.key.join(', ')}) USING (${t.key.join(', ')})`;
  return tx.unsafe<Row[]>(text, arrays);
}
