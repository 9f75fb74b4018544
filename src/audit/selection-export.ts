// Exports of exactly what a QA search selects: the matching events (every page, oldest first),
// and a per-device CSV for a plant's MES. A selection is not a stretch of the chain, so it cannot
// be checked as one: its signed trailer covers the search, the count and a digest of the events'
// hashes (each event still carries its own hash).
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { canonicalJson, eventFromEntry } from './audit-canonical.ts';
import { CSV_COLUMNS, csvField, type ExportFormat } from './audit-export.ts';
import { type AuditSearch, pageFilter } from './audit-page-query.ts';
import type { SigningKey } from './station-signing-key.ts';

export const SELECTION_FORMAT = 'imprint-audit-selection/1';
const PAGE = 5000;

/** The search as recorded in the header: only the members that were set. */
function selectionOf(q: AuditSearch): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q))
    if (v !== undefined && v !== '' && k !== 'limit' && k !== 'beforeSeq') out[k] = String(v);
  return out;
}

/** Matching entries in chain order, page by page (no cursor held open between pages). */
function* selected(db: Database.Database, q: AuditSearch): Generator<[number, string]> {
  const { where, params } = pageFilter(db, { ...q, beforeSeq: undefined, limit: undefined });
  const stmt = db
    .prepare(`SELECT seq, entry FROM events WHERE ${[...where, 'seq > ?'].join(' AND ')} ORDER BY seq LIMIT ?`)
    .raw();
  let after = 0;
  for (;;) {
    const rows = stmt.all(...params, after, PAGE) as [number, string][];
    if (rows.length === 0) return;
    yield* rows;
    after = rows[rows.length - 1][0];
  }
}

function envelope(o: Record<string, unknown>, format: ExportFormat): string {
  if (format === 'jsonl') return `${canonicalJson(o)}\n`;
  const fields = CSV_COLUMNS.map(() => '');
  fields[0] = String(o.type);
  fields[CSV_COLUMNS.indexOf('data')] = csvField(o);
  return `${fields.join(',')}\r\n`;
}

/** The events a search selects, between a header naming the search and a signed trailer. */
export function exportSelection(
  db: Database.Database,
  ctx: { station: string; key: SigningKey },
  q: AuditSearch,
  format: ExportFormat,
): string {
  const header = {
    type: 'header',
    format: SELECTION_FORMAT,
    station: ctx.station,
    exportedAt: new Date().toISOString(),
    selection: selectionOf(q),
    keyId: ctx.key.keyId,
    publicKey: ctx.key.publicKey,
  };
  const parts = [format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '', envelope(header, format)];
  const digest = createHash('sha256');
  let events = 0;
  for (const [, entry] of selected(db, q)) {
    const e = eventFromEntry(entry);
    digest.update(`${e.hash}\n`);
    events++;
    if (format === 'jsonl') parts.push(`${canonicalJson(e)}\n`);
    else {
      const row = e as unknown as Record<string, unknown>;
      parts.push(`${CSV_COLUMNS.map((c) => csvField(row[c])).join(',')}\r\n`);
    }
  }
  const unsigned = { type: 'trailer', events, digest: digest.digest('hex') };
  const signature = ctx.key.sign(`${SELECTION_FORMAT}\n${canonicalJson({ header, trailer: unsigned })}`);
  parts.push(envelope({ ...unsigned, signature }, format));
  return parts.join('');
}

export const DEVICE_CSV_COLUMNS = [
  'deviceId',
  'hardwareSerial',
  'outcome',
  'errorCode',
  'batchId',
  'workOrder',
  'operator',
  'station',
  'recordedAt',
  'secretFingerprint',
  'attempts',
] as const;

/**
 * One row per device the search selects: its last `record` event (pass or fail, with the
 * fingerprint of the secret written), the batch's work order, and how many records it has.
 */
export function exportDevices(db: Database.Database, q: AuditSearch): string {
  const { where, params } = pageFilter(db, { ...q, beforeSeq: undefined, limit: undefined });
  const records = `SELECT seq, device_id FROM events WHERE ${[...where, "step = 'record'", 'device_id IS NOT NULL'].join(' AND ')}`;
  const rows = db
    .prepare(
      `WITH r AS (${records}),
            last AS (SELECT device_id, max(seq) AS seq, count(*) AS attempts FROM r GROUP BY device_id)
       SELECT e.entry, last.attempts, b.work_order
         FROM last JOIN events e ON e.seq = last.seq LEFT JOIN batches b ON b.id = e.batch_id
        ORDER BY last.seq`,
    )
    .raw()
    .all(...params) as [string, number, string | null][];
  const lines = [`${DEVICE_CSV_COLUMNS.join(',')}\r\n`];
  for (const [entry, attempts, workOrder] of rows) {
    const e = eventFromEntry(entry);
    const row = [
      e.deviceId,
      e.hardwareSerial,
      e.outcome === 'ok' ? 'pass' : 'fail',
      e.errorCode,
      e.batchId,
      workOrder ?? undefined,
      e.operator,
      e.station,
      e.ts,
      e.secretFingerprint,
      attempts,
    ];
    lines.push(`${row.map(csvField).join(',')}\r\n`);
  }
  return lines.join('');
}
