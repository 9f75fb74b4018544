// Exports of exactly what a QA search selects: the matching events (every page, oldest first),
// and a per-device CSV for a plant's MES. A selection is not a stretch of the chain: its signed
// trailer covers the search, the count and a digest of the events' hashes (selection-envelope.ts);
// each event is written exactly as in a chain export, with its own hash.
import type Database from 'better-sqlite3';
import { eventFromEntry } from './audit-canonical.ts';
import { CSV_COLUMNS, csvField, csvRow, type ExportFormat, envelope, jsonlRow } from './audit-export.ts';
import { type AuditSearch, pageFilter } from './audit-page-query.ts';
import { entryHash } from './chain-link.ts';
import { makeSelectionHeader, SelectionDigest, signedSelectionText } from './selection-envelope.ts';
import type { SigningKey } from './station-signing-key.ts';

export { SELECTION_FORMAT } from './selection-envelope.ts';

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

/** The events a search selects, between a header naming the search and a signed trailer. */
export function exportSelection(
  db: Database.Database,
  ctx: { station: string; key: SigningKey },
  q: AuditSearch,
  format: ExportFormat,
): string {
  const header = makeSelectionHeader({ station: ctx.station, selection: selectionOf(q), key: ctx.key });
  const parts = [format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '', envelope(header, format)];
  const row = format === 'csv' ? csvRow : jsonlRow;
  const digest = new SelectionDigest();
  for (const [, entry] of selected(db, q)) {
    digest.add(entryHash(entry));
    parts.push(row(entry));
  }
  const unsigned = { type: 'trailer' as const, events: digest.count, digest: digest.hex() };
  const trailer = { ...unsigned, signature: ctx.key.sign(signedSelectionText(header, unsigned)) };
  parts.push(envelope(trailer, format));
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
