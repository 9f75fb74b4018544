// Offline verification of an export (CSV or JSON lines), from a string or streamed from a file.
// Every line must be valid UTF-8 and every value in canonical form; the signed trailer vouches
// for the header (where the export starts) and for its end (how many events, the last hash).
// A selection (QA's filtered export) has the same lines; its trailer signs a digest instead.
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import type { Anchor } from './audit-anchor.ts';
import { ChainChecker } from './audit-chain.ts';
import { CSV_COLUMNS, type ExportFormat } from './audit-export.ts';
import type { AuditEvent, ChainStatus } from './audit-types.ts';
import { bodyProblem, jsonValueProblem } from './canonical-check.ts';
import { CsvReader } from './csv-reader.ts';
import { type ExportHeader, type ExportTrailer, parseHeader, parseTrailer, trailerProblem } from './export-envelope.ts';
import { SelectionChecker } from './selection-check.ts';
import { isSelectionHeader, parseSelectionHeader, type SelectionTrailer } from './selection-envelope.ts';

export interface ExportVerifyOptions {
  /** Only accept signatures (the export's, batch summaries) by these station key ids. */
  trustedKeyIds?: readonly string[];
  /** Events the export must hold with these hashes (`--anchor`). */
  anchors?: readonly Anchor[];
}

/** Guesses the format from the first character: JSON lines start with "{". */
export function detectFormat(firstChunk: string): ExportFormat {
  return firstChunk.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

/** Takes the export line by line (`undefined`: the line is not valid UTF-8), then the verdict. */
interface LineVerifier {
  line(text: string | undefined): void;
  finish(): ChainStatus;
}

/** What follows the header: a chain export's events (a stretch of the chain) or a selection's. */
interface ExportBody<T> {
  readonly done: boolean;
  /** A problem at the current place (a malformed line, the trailer). */
  fail(reason: string): void;
  parseTrailer(text: string): T | string;
  push(e: AuditEvent): void;
  finish(trailer: T | undefined): ChainStatus;
}

/** A chain export: contiguous from the header's fromSeq, signed up to its last event. */
class ChainExportBody implements ExportBody<ExportTrailer> {
  private readonly checker: ChainChecker;

  constructor(
    private readonly header: ExportHeader,
    private readonly opts: ExportVerifyOptions,
  ) {
    this.checker = new ChainChecker({ fromSeq: header.fromSeq, trustedKeyIds: opts.trustedKeyIds, anchors: opts.anchors });
  }

  get done(): boolean {
    return this.checker.done;
  }

  fail(reason: string): void {
    this.checker.fail(this.checker.nextSeq(), reason);
  }

  parseTrailer(text: string): ExportTrailer | string {
    return parseTrailer(text);
  }

  push(e: AuditEvent): void {
    this.checker.push(e);
  }

  finish(trailer: ExportTrailer | undefined): ChainStatus {
    const { checker, header } = this;
    if (!trailer)
      checker.fail(checker.nextSeq(), `event ${checker.nextSeq()} is missing: the export ends without its signed trailer`);
    else {
      const read = { events: checker.events, last: checker.last };
      const problem = trailerProblem(header, trailer, read, this.opts.trustedKeyIds);
      if (problem) checker.fail(checker.nextSeq(), problem);
      else checker.addKeyId(header.keyId);
    }
    const status = checker.finish();
    if (status.ok)
      status.anchors = [{ source: "the export's signed trailer", seq: trailer?.lastSeq ?? 0 }, ...(status.anchors ?? [])];
    return status;
  }
}

/**
 * What both formats share: the header (first), the events, the trailer (last). Problems before
 * the header is read are at event 1; the body places all others.
 */
class EnvelopeCheck {
  private body?: ExportBody<unknown>;
  private trailer?: unknown;
  private early?: string;
  lineNo = 0;

  constructor(private readonly opts: ExportVerifyOptions) {}

  get header(): boolean {
    return this.body !== undefined;
  }

  get done(): boolean {
    return this.early !== undefined || (this.body?.done ?? false);
  }

  fail(reason: string): void {
    if (this.body) this.body.fail(`line ${this.lineNo}: ${reason}`);
    else this.early ??= `line ${this.lineNo}: ${reason}`;
  }

  onHeader(text: string): void {
    const body = isSelectionHeader(text) ? this.selectionBody(text) : this.chainBody(text);
    if (typeof body === 'string') this.early = `line ${this.lineNo}: ${body}`;
    else this.body = body;
  }

  private chainBody(text: string): ExportBody<ExportTrailer> | string {
    const h = parseHeader(text);
    return typeof h === 'string' ? h : new ChainExportBody(h, this.opts);
  }

  private selectionBody(text: string): ExportBody<SelectionTrailer> | string {
    const h = parseSelectionHeader(text);
    if (typeof h === 'string') return h;
    if (this.opts.anchors?.length)
      return 'a selection is not a stretch of the chain and cannot be checked against an anchor: verify the trail or a full export with --anchor';
    return new SelectionChecker(h, this.opts.trustedKeyIds);
  }

  onTrailer(text: string): void {
    if (!this.body) return;
    const t = this.trailer !== undefined ? 'a second trailer' : this.body.parseTrailer(text);
    if (typeof t === 'string') this.fail(t);
    else this.trailer = t;
  }

  onEvent(e: AuditEvent): void {
    if (this.trailer !== undefined) this.fail('an event after the trailer');
    else this.body?.push(e);
  }

  finish(): ChainStatus {
    if (!this.body) return { ok: false, events: 0, brokenAt: 1, reason: this.early ?? 'empty export: no header' };
    return this.body.finish(this.trailer);
  }
}

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

function jsonlVerifier(opts: ExportVerifyOptions): LineVerifier {
  const env = new EnvelopeCheck(opts);
  return {
    line(text) {
      env.lineNo++;
      if (env.done) return;
      if (text === undefined) return env.fail('not valid UTF-8');
      if (text === '') return env.fail('an empty line');
      if (!env.header) return env.onHeader(text);
      if (text.startsWith('{"events":') || text.startsWith('{"digest":')) return env.onTrailer(text);
      // An event: its canonical body with "hash" as the last member.
      const m = HASH_SUFFIX.exec(text);
      if (!m) return env.fail('not an event: it must end with the "hash" member');
      const body = `${text.slice(0, m.index)}}`;
      const problem = bodyProblem(body);
      if (problem) return env.fail(`not in canonical form (${problem})`);
      const e = JSON.parse(body) as AuditEvent & { v?: number };
      delete e.v;
      e.hash = m[1];
      env.onEvent(e);
    },
    finish: () => env.finish(),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
const POSITIVE_INTEGER = /^[1-9][0-9]*$/;
const DATA_COLUMN = CSV_COLUMNS.indexOf('data');

function csvVerifier(opts: ExportVerifyOptions): LineVerifier {
  const env = new EnvelopeCheck(opts);
  const reader = new CsvReader();
  let columns = false;
  const onRecord = (fields: string[]) => {
    if (env.done) return;
    if (!columns) {
      columns = true;
      if (fields.join(',') !== CSV_COLUMNS.join(','))
        env.fail(`not an Imprint audit CSV export: the columns must be ${CSV_COLUMNS.join(',')}`);
      return;
    }
    if (fields.length !== CSV_COLUMNS.length) return env.fail(`expected ${CSV_COLUMNS.length} fields, found ${fields.length}`);
    const type = fields[0];
    if (type === 'header' || type === 'trailer') {
      if (fields.some((f, i) => i !== 0 && i !== DATA_COLUMN && f !== ''))
        return env.fail(`the ${type} record has values outside seq and data`);
      return type === 'header'
        ? env.header
          ? env.fail('a second header')
          : env.onHeader(fields[DATA_COLUMN])
        : env.onTrailer(fields[DATA_COLUMN]);
    }
    if (!env.header) return env.fail('the first record after the column names must be the header');
    const e = csvEvent(fields);
    if (typeof e === 'string') env.fail(e);
    else env.onEvent(e);
  };
  const afterRead = (records: { fields: string[] }[]) => {
    for (const r of records) onRecord(r.fields);
    if (reader.error) env.fail(`malformed CSV: ${reader.error}`);
  };
  return {
    line(text) {
      env.lineNo++;
      if (env.done) return;
      if (text === undefined) return env.fail('not valid UTF-8');
      afterRead(reader.push(`${text}\n`));
    },
    finish() {
      if (!env.done) afterRead(reader.end());
      return env.finish();
    },
  };
}

/** A typed event from a CSV record whose every value is in canonical form, or why not. */
function csvEvent(fields: string[]): AuditEvent | string {
  const e: Record<string, unknown> = {};
  for (let i = 0; i < CSV_COLUMNS.length; i++) {
    const c = CSV_COLUMNS[i];
    const v = fields[i];
    if (v === '') continue; // empty = absent
    if (c === 'seq') {
      if (!POSITIVE_INTEGER.test(v) || !Number.isSafeInteger(Number(v)))
        return `seq ${JSON.stringify(v)} is not a positive integer in canonical form`;
      e.seq = Number(v);
    } else if (c === 'prevHash' || c === 'hash') {
      if (!HEX64.test(v)) return `${c} is not 64 lower-case hex digits`;
      e[c] = v;
    } else if (c === 'durationMs') {
      if (jsonValueProblem(v) !== undefined || typeof JSON.parse(v) !== 'number')
        return `durationMs ${JSON.stringify(v)} is not a number in canonical form`;
      e.durationMs = Number(v);
    } else if (c === 'data') {
      const problem = jsonValueProblem(v, { object: true });
      if (problem) return `data is not a JSON object in canonical form (${problem})`;
      e.data = JSON.parse(v);
    } else e[c] = v;
  }
  if (e.seq === undefined || e.hash === undefined || e.prevHash === undefined) return 'seq, prevHash or hash missing';
  return e as unknown as AuditEvent;
}

function verifierFor(format: ExportFormat, opts: ExportVerifyOptions): LineVerifier {
  return format === 'csv' ? csvVerifier(opts) : jsonlVerifier(opts);
}

const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Verifies an export held in memory (a JavaScript string: lone surrogates count as invalid UTF-8). */
export function verifyExport(
  content: string,
  format: ExportFormat = detectFormat(content),
  opts: ExportVerifyOptions = {},
): ChainStatus {
  const v = verifierFor(format, opts);
  const lines = content.split('\n');
  // The last line ends with a line feed: nothing after it.
  if (lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) v.line(LONE_SURROGATE.test(l) ? undefined : l);
  return v.finish();
}

/** Verifies an export file of any size, streaming it line by line. */
export async function verifyExportFile(
  file: string,
  opts: ExportVerifyOptions & { format?: ExportFormat } = {},
): Promise<ChainStatus> {
  let v: LineVerifier | undefined;
  let rest: Buffer = Buffer.alloc(0);
  const emit = (line: Buffer) => {
    v ??= verifierFor(opts.format ?? detectFormat(line.toString('latin1')), opts);
    v.line(isUtf8(line) ? line.toString('utf8') : undefined);
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      emit(buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length) emit(rest);
  return (v ?? verifierFor(opts.format ?? 'csv', opts)).finish();
}
