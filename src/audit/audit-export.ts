// Exports of the trail: CSV (RFC 4180) and JSON lines, both carrying every hashed field so that
// anyone can re-hash and verify them offline (docs/audit-trail.md, `imprint audit verify --file`).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { canonicalJson, EVENT_FIELDS, entryText, eventFromEntry } from './audit-canonical.ts';
import { entryBody, entryHash } from './chain-link.ts';
import { type ExportHeader, makeHeader, makeTrailer } from './export-envelope.ts';
import type { SigningKey } from './station-signing-key.ts';

export type ExportFormat = 'csv' | 'jsonl';

export interface ExportContext {
  station: string;
  /** Signs the trailer (the station key). */
  key: SigningKey;
  batchId?: string;
  /** Inclusive seq range: a batch export is the contiguous stretch from its open to its close event. */
  from: number;
  to: number;
}

export { EXPORT_FORMAT } from './export-envelope.ts';

/** CSV columns: the canonical fields with the hash right after prevHash. */
export const CSV_COLUMNS: readonly string[] = ['seq', 'prevHash', 'hash', ...EVENT_FIELDS.slice(2)];
/** CSV: the header and trailer are records with this in `seq` and their JSON in `data`. */
const DATA_COLUMN = CSV_COLUMNS.indexOf('data');

const PAGE = 5000;

export function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'object' ? canonicalJson(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** An event as a CSV record (a stored entry in, every field as the verifier reads it). */
export function csvRow(entry: string): string {
  const e = eventFromEntry(entry) as unknown as Record<string, unknown>;
  return `${CSV_COLUMNS.map((c) => csvField(e[c])).join(',')}\r\n`;
}

/** The CSV record carrying the header or trailer: its type in `seq`, its canonical JSON in `data`. */
function csvEnvelope(o: { type: string }): string {
  const fields = CSV_COLUMNS.map(() => '');
  fields[0] = o.type;
  fields[DATA_COLUMN] = csvField(o);
  return `${fields.join(',')}\r\n`;
}

/** An event as a JSON lines line: its canonical body with the hash as the last member. */
export function jsonlRow(stored: string): string {
  const entry = entryText(stored);
  return `${entryBody(entry).slice(0, -1)},"hash":"${entryHash(entry)}"}\n`;
}

/** A header or trailer in either format. */
export function envelope(o: { type: string }, format: ExportFormat): string {
  return format === 'csv' ? csvEnvelope(o) : `${canonicalJson(o)}\n`;
}

function start(ctx: ExportContext, format: ExportFormat): { header: ExportHeader; text: string } {
  const header = makeHeader({ station: ctx.station, fromSeq: ctx.from, batchId: ctx.batchId, key: ctx.key });
  return { header, text: (format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '') + envelope(header, format) };
}

function end(ctx: ExportContext, header: ExportHeader, format: ExportFormat, events: number, last?: [number, string]): string {
  return envelope(makeTrailer(header, ctx.key, events, last && { seq: last[0], hash: entryHash(entryText(last[1])) }), format);
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
  const { header, text } = start(ctx, format);
  const parts = [text];
  let n = 0;
  let last: [number, string] | undefined;
  for (const rows of pages(db, ctx)) {
    for (const r of rows) parts.push(row(r[1]));
    n += rows.length;
    last = rows[rows.length - 1];
  }
  parts.push(end(ctx, header, format, n, last));
  return parts.join('');
}

export async function exportToFile(
  db: Database,
  ctx: ExportContext,
  format: ExportFormat,
  file: string,
): Promise<{ events: number }> {
  const row = format === 'csv' ? csvRow : jsonlRow;
  const out = createWriteStream(file, { flags: 'w', mode: 0o600 });
  const failed = once(out, 'error').then(([e]) => {
    throw e;
  });
  failed.catch(() => {});
  const write = async (s: string) => {
    if (!out.write(s)) await Promise.race([once(out, 'drain'), failed]);
  };
  let n = 0;
  let last: [number, string] | undefined;
  const { header, text } = start(ctx, format);
  await write(text);
  for (const rows of pages(db, ctx)) {
    await write(rows.map((r) => row(r[1])).join(''));
    n += rows.length;
    last = rows[rows.length - 1];
  }
  await write(end(ctx, header, format, n, last));
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return { events: n };
}
