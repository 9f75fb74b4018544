// Exports of the trail: CSV (RFC 4180) and JSON lines, both carrying every hashed field so that
// anyone can re-hash and verify them offline (docs/audit-trail.md, `imprint audit verify --file`).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { canonicalJson, EVENT_FIELDS } from './audit-canonical.ts';
import { entryBody, entryHash } from './chain-link.mjs';

export type ExportFormat = 'csv' | 'jsonl';

export interface ExportContext {
  station: string;
  publicKey?: string;
  keyId?: string;
  batchId?: string;
  /** Inclusive seq range: a batch export is the contiguous stretch from its open to its close event. */
  from: number;
  to: number;
}

export const EXPORT_FORMAT = 'imprint-audit-export/1';

/** CSV columns: the canonical fields with the hash right after prevHash. */
export const CSV_COLUMNS: readonly string[] = ['seq', 'prevHash', 'hash', ...EVENT_FIELDS.slice(2)];

const PAGE = 5000;

export function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'object' ? canonicalJson(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(entry: string): string {
  const e = JSON.parse(entryBody(entry)) as Record<string, unknown>;
  e.hash = entryHash(entry);
  return `${CSV_COLUMNS.map((c) => csvField(e[c])).join(',')}\r\n`;
}

function jsonlRow(entry: string): string {
  return `${entryBody(entry).slice(0, -1)},"hash":"${entryHash(entry)}"}\n`;
}

function header(ctx: ExportContext, format: ExportFormat): string {
  if (format === 'csv') return `${CSV_COLUMNS.join(',')}\r\n`;
  const h: Record<string, unknown> = {
    type: 'header',
    format: EXPORT_FORMAT,
    station: ctx.station,
    exportedAt: new Date().toISOString(),
    fromSeq: ctx.from,
  };
  if (ctx.batchId) h.batchId = ctx.batchId;
  if (ctx.publicKey) {
    h.publicKey = ctx.publicKey;
    h.keyId = ctx.keyId;
  }
  return `${JSON.stringify(h)}\n`;
}

function trailer(format: ExportFormat, events: number, lastSeq: number | undefined, lastHash: string | undefined): string {
  // CSV stays plain RFC 4180 (no trailer row); JSON lines end with a count so truncation shows.
  return format === 'csv'
    ? ''
    : `${JSON.stringify({ type: 'trailer', events, lastSeq: lastSeq ?? null, lastHash: lastHash ?? null })}\n`;
}

/** Pages through the range without holding an open cursor across awaits (the connection stays usable). */
function* pages(db: Database, ctx: ExportContext): Generator<[number, string][]> {
  const stmt = db.prepare('SELECT seq, entry FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?').raw();
  let from = ctx.from;
  for (;;) {
    const rows = stmt.all(from, ctx.to, PAGE) as [number, string][];
    if (rows.length === 0) return;
    yield rows;
    from = rows[rows.length - 1][0] + 1;
  }
}

export function exportToString(db: Database, ctx: ExportContext, format: ExportFormat): string {
  const row = format === 'csv' ? csvRow : jsonlRow;
  const parts = [header(ctx, format)];
  let n = 0;
  let last: [number, string] | undefined;
  for (const rows of pages(db, ctx)) {
    for (const r of rows) parts.push(row(r[1]));
    n += rows.length;
    last = rows[rows.length - 1];
  }
  parts.push(trailer(format, n, last?.[0], last && entryHash(last[1])));
  return parts.join('');
}

export async function exportToFile(
  db: Database,
  ctx: ExportContext,
  format: ExportFormat,
  file: string,
): Promise<{ events: number }> {
  const row = format === 'csv' ? csvRow : jsonlRow;
  const out = createWriteStream(file, { flags: 'w' });
  const failed = once(out, 'error').then(([e]) => {
    throw e;
  });
  failed.catch(() => {});
  const write = async (s: string) => {
    if (!out.write(s)) await Promise.race([once(out, 'drain'), failed]);
  };
  let n = 0;
  let last: [number, string] | undefined;
  await write(header(ctx, format));
  for (const rows of pages(db, ctx)) {
    await write(rows.map((r) => row(r[1])).join(''));
    n += rows.length;
    last = rows[rows.length - 1];
  }
  await write(trailer(format, n, last?.[0], last && entryHash(last[1])));
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return { events: n };
}
