// Offline verification of an export (CSV or JSON lines), from a string or streamed from a file.
import { createReadStream } from 'node:fs';
import { EVENT_FIELDS } from './audit-canonical.ts';
import { ChainChecker, type ChainCheckerOptions } from './audit-chain.ts';
import { CSV_COLUMNS, EXPORT_FORMAT, type ExportFormat } from './audit-export.ts';
import type { AuditEvent, ChainStatus } from './audit-types.ts';
import { CsvReader } from './csv-reader.ts';

export interface ExportVerifyOptions {
  /** Only accept batch signatures by these station key ids. */
  trustedKeyIds?: readonly string[];
}

/** Guesses the format from the first character: JSON lines start with "{". */
export function detectFormat(firstChunk: string): ExportFormat {
  return firstChunk.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** A stream verifier for one format: feed chunks, then finish. */
interface ExportStreamVerifier {
  push(chunk: string): void;
  finish(): ChainStatus;
}

function csvVerifier(opts: ExportVerifyOptions): ExportStreamVerifier {
  const reader = new CsvReader();
  const checker = new ChainChecker({ trustedKeyIds: opts.trustedKeyIds });
  let columns: string[] | undefined;
  const onRecords = (records: { fields: string[]; line: number }[]) => {
    for (const { fields, line } of records) {
      if (checker.done) return;
      if (!columns) {
        columns = fields;
        const missing = CSV_COLUMNS.filter((c) => !fields.includes(c));
        if (missing.length) checker.fail(1, `not an Imprint audit CSV export: missing columns ${missing.join(', ')}`);
        continue;
      }
      if (fields.length === 1 && fields[0] === '') continue; // blank line
      const e = csvEvent(columns, fields);
      if (typeof e === 'string') checker.fail(checker.nextSeq(), `line ${line}: ${e}`);
      else checker.push(e);
    }
  };
  return {
    push: (chunk) => {
      onRecords(reader.push(chunk));
      if (reader.error) checker.fail(checker.nextSeq(), `malformed CSV: ${reader.error}`);
    },
    finish: () => {
      onRecords(reader.end());
      if (reader.error) checker.fail(checker.nextSeq(), `malformed CSV: ${reader.error}`);
      if (!columns) checker.fail(1, 'empty export');
      return checker.finish();
    },
  };
}

/** A typed event from a CSV record, or a reason it is malformed. */
function csvEvent(columns: string[], fields: string[]): AuditEvent | string {
  if (fields.length !== columns.length) return `expected ${columns.length} fields, found ${fields.length}`;
  const e: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const v = fields[i];
    if (v === '') continue;
    if (c === 'seq' || c === 'durationMs') {
      const n = Number(v);
      if (!Number.isFinite(n)) return `${c} is not a number`;
      e[c] = n;
    } else if (c === 'data') {
      try {
        e.data = JSON.parse(v);
      } catch {
        return 'data is not JSON';
      }
    } else e[c] = v;
  }
  if (typeof e.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prevHash !== 'string')
    return 'seq, prevHash or hash missing';
  return e as unknown as AuditEvent;
}

const EVENT_MEMBERS = new Set<string>([...EVENT_FIELDS, 'hash']);

function jsonlVerifier(opts: ExportVerifyOptions): ExportStreamVerifier {
  let checker: ChainChecker | undefined;
  let rest = '';
  let lineNo = 0;
  let trailer: { lastSeq: number | null; events: number } | undefined;
  let earlyProblem: string | undefined;
  const onLine = (line: string) => {
    lineNo++;
    if (line.trim() === '' || checker?.done || earlyProblem) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch {
      if (!checker) earlyProblem = `line ${lineNo} is not JSON`;
      else checker.fail(checker.nextSeq(), `line ${lineNo} is not JSON`);
      return;
    }
    if (!checker) {
      if (o.type !== 'header' || o.format !== EXPORT_FORMAT) {
        earlyProblem = `not an Imprint audit export: the first line must be a ${EXPORT_FORMAT} header`;
        return;
      }
      checker = new ChainChecker({
        fromSeq: typeof o.fromSeq === 'number' ? o.fromSeq : undefined,
        trustedKeyIds: opts.trustedKeyIds,
      });
      return;
    }
    if (trailer) {
      checker.fail(checker.nextSeq(), `line ${lineNo}: content after the trailer`);
      return;
    }
    if (o.type === 'trailer') {
      trailer = { lastSeq: typeof o.lastSeq === 'number' ? o.lastSeq : null, events: Number(o.events) };
      return;
    }
    const { v, ...event } = o;
    const unknown = Object.keys(event).find((k) => !EVENT_MEMBERS.has(k));
    if (v !== 1) checker.fail(checker.nextSeq(), `line ${lineNo}: unknown event format ${JSON.stringify(v)}`);
    else if (unknown)
      checker.fail(checker.nextSeq(), `line ${lineNo}: unknown member ${JSON.stringify(unknown)} (not covered by the hash)`);
    else checker.push(event as unknown as AuditEvent);
  };
  return {
    push: (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    },
    finish: () => {
      if (rest) onLine(rest);
      if (!checker) return { ok: false, events: 0, brokenAt: 1, reason: earlyProblem ?? 'empty export' };
      if (!trailer)
        checker.fail(checker.nextSeq(), `event ${checker.nextSeq()} is missing: the export ends without its trailer line`);
      return checker.finish(trailer);
    },
  };
}

function verifierFor(format: ExportFormat, opts: ExportVerifyOptions): ExportStreamVerifier {
  return format === 'csv' ? csvVerifier(opts) : jsonlVerifier(opts);
}

/** Verifies an export held in memory. */
export function verifyExport(
  content: string,
  format: ExportFormat = detectFormat(content),
  opts: ExportVerifyOptions = {},
): ChainStatus {
  const v = verifierFor(format, opts);
  v.push(content);
  return v.finish();
}

/** Verifies an export file of any size, streaming it. */
export async function verifyExportFile(
  file: string,
  opts: ExportVerifyOptions & { format?: ExportFormat } = {},
): Promise<ChainStatus> {
  let v: ExportStreamVerifier | undefined;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    v ??= verifierFor(opts.format ?? detectFormat(chunk as string), opts);
    v.push(chunk as string);
  }
  return (v ?? verifierFor(opts.format ?? 'csv', opts)).finish();
}

export type { ChainCheckerOptions };
