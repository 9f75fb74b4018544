// The hash-chain primitives shared by the trail (main thread) and the verify workers.
// Verify workers import it like every module (src/common/typescript-worker.ts), so a 1,000,000-event
// chain is verified on several cores.
import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { bodyProblem, lastBodyHadReplacement } from './canonical-check.ts';

export type SegmentFailureKind = 'hash' | 'link' | 'seq' | 'malformed' | 'canonical' | 'damaged';

export interface SegmentResult {
  count: number;
  firstPrevHash?: string;
  lastHash?: string;
  /** Last seq walked when the segment completed; absent after a failure. */
  endSeq?: number;
  failure?: { seq: number; kind: SegmentFailureKind; claimedSeq?: number; storedHash?: string; detail?: string };
}

/** The prevHash of the first event: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Format version written as the first field ("v") of every canonical event body. */
export const EVENT_FORMAT_VERSION = 1;

/** Every canonical body starts with exactly this text, so a link is checked without parsing JSON. */
export function linkPrefix(seq: number, prevHash: string): string {
  return `{"v":${EVENT_FORMAT_VERSION},"seq":${seq},"prevHash":"${prevHash}",`;
}

/**
 * A stored row: `["<hash>",<body>]`, a JSON array whose first item is the hash and whose second
 * is the canonical body, verbatim. SQLite indexes read fields straight from it (json_extract,
 * one parse per row), and verify reads one column and slices it without parsing.
 */
export function packEntry(hash: string, body: string): string {
  return `["${hash}",${body}]`;
}

export function entryHash(entry: string): string {
  return entry.slice(2, 66);
}

export function entryBody(entry: string): string {
  return entry.slice(68, -1);
}

/** The event hash: lowercase hex SHA-256 over the UTF-8 bytes of the canonical body. */
export function hashBody(body: string): string {
  return hash('sha256', body, 'hex');
}

/** hashBody of a body already encoded as UTF-8. */
export function hashBodyBytes(body: Uint8Array): string {
  return hash('sha256', body, 'hex');
}

const SEQ_PREFIX = `{"v":${EVENT_FORMAT_VERSION},"seq":`;

/** The seq a body claims, or undefined when the body does not start like a canonical event. */
export function bodySeq(body: string): number | undefined {
  if (!body.startsWith(SEQ_PREFIX)) return undefined;
  const end = body.indexOf(',', SEQ_PREFIX.length);
  const n = Number(body.slice(SEQ_PREFIX.length, end));
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The prevHash a body claims (it sits right after the seq), or undefined. */
export function bodyPrevHash(body: string): string | undefined {
  const seq = bodySeq(body);
  if (seq === undefined) return undefined;
  const start = SEQ_PREFIX.length + String(seq).length + ',"prevHash":"'.length;
  const h = body.slice(start, start + 64);
  const after = body.slice(start + 64, start + 66);
  return (after === '",' || after === '"}') && /^[0-9a-f]{64}$/.test(h) ? h : undefined;
}

/**
 * Walks events fromSeq..toSeq (inclusive) of an open better-sqlite3 database (one `entry`
 * column per row, see packEntry).
 * Checks contiguity, that each body starts with its own seq and its predecessor's hash, that it is
 * in canonical form (valid UTF-8 included), and that the stored hash is the SHA-256 of the body.
 * Stops at the first problem.
 * `progress` (optional): an Int32Array cell updated after each page, for a progress display.
 */
export function walkSegment(
  db: Database,
  fromSeq: number,
  toSeq: number,
  progress?: Int32Array,
  progressIndex = 0,
): SegmentResult {
  // Pages of rows via .all(): about a third cheaper per row than a row-by-row iterator. A page is a
  // range of seqs: when it holds as many rows as seqs, every row is at its own seq.
  const page = db.prepare('SELECT entry FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq').pluck();
  const ids = db.prepare('SELECT seq FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq').pluck();
  let expected = fromSeq;
  let prev: string | undefined;
  let firstPrevHash: string | undefined;
  let count = 0;
  const stop = (kind: SegmentFailureKind, detail?: string): SegmentResult => ({
    count,
    firstPrevHash,
    lastHash: prev,
    failure: { seq: expected, kind, detail },
  });
  while (expected <= toSeq) {
    const last = Math.min(toSeq, expected + PAGE_ROWS - 1);
    let entries: unknown[];
    let rows: number;
    try {
      entries = page.all(expected, last);
      rows = entries.length;
      // A row of this range is missing: walk up to it, then report the gap there.
      if (rows !== last - expected + 1) {
        const got = ids.all(expected, last);
        rows = 0;
        while (rows < got.length && got[rows] === expected + rows) rows++;
      }
    } catch (e) {
      if (!isDamage(e)) throw e;
      return {
        count,
        firstPrevHash,
        lastHash: prev,
        failure: { seq: firstUnreadable(db, expected, last), kind: 'damaged', detail: (e as Error).message },
      };
    }
    for (let i = 0; i < rows; i++) {
      const entry = entries[i];
      if (typeof entry !== 'string' || !isEntryShape(entry)) return stop('malformed', 'not a stored event row');
      const body = entryBody(entry);
      // Where the part of the body not yet checked starts (0: all of it).
      let rest = 0;
      if (prev === undefined) {
        const claimedSeq = bodySeq(body);
        firstPrevHash = bodyPrevHash(body);
        if (claimedSeq !== expected || firstPrevHash === undefined)
          return failAt(expected, body, entry, prev, count, firstPrevHash);
      } else {
        rest = linksTo(entry, expected, prev);
        if (rest < 0) return failAt(expected, body, entry, prev, count, firstPrevHash);
      }
      const problem = bodyProblem(body, rest);
      if (problem !== undefined) return stop('canonical', problem);
      // The text holds U+FFFD: make sure it was stored as such, not put there for invalid bytes.
      if (lastBodyHadReplacement() && !storedAsUtf8(db, expected)) return stop('canonical', 'not valid UTF-8');
      const h = entryHash(entry);
      if (hashBody(body) !== h) return stop('hash');
      prev = h;
      expected++;
      count++;
    }
    if (progress) Atomics.store(progress, progressIndex, count);
    if (rows !== entries.length || expected <= last) return stop('seq');
  }
  return { count, firstPrevHash, lastHash: prev, endSeq: toSeq };
}

const PAGE_ROWS = 4096;

/** A SQLite error that means the file itself is damaged (truncated, overwritten, not a database). */
export function isDamage(e: unknown): boolean {
  const c = (e as { code?: unknown } | undefined)?.code;
  const code = typeof c === 'string' ? c : '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_IOERR');
}

/** The first seq from `fromSeq` whose row cannot be read (one row at a time: only after a damaged page). */
function firstUnreadable(db: Database, fromSeq: number, toSeq: number): number {
  const one = db.prepare('SELECT entry FROM events WHERE seq = ?').pluck();
  for (let seq = fromSeq; seq <= toSeq && seq < fromSeq + 4096; seq++) {
    try {
      if (one.get(seq) === undefined) return seq;
    } catch {
      return seq;
    }
  }
  return fromSeq;
}

/** `["<64 chars>",…]`: the frame of a stored row (the hash's digits are checked by comparison). */
function isEntryShape(entry: string): boolean {
  return (
    entry.length > 70 &&
    entry.charCodeAt(0) === 91 && // [
    entry.charCodeAt(1) === 34 && // "
    entry.charCodeAt(66) === 34 &&
    entry.charCodeAt(67) === 44 && // ,
    entry.charCodeAt(entry.length - 1) === 93 // ]
  );
}

/** Whether the row's stored bytes are valid UTF-8 (the driver decodes invalid bytes to U+FFFD). */
function storedAsUtf8(db: Database, seq: number): boolean {
  const bytes = db.prepare('SELECT CAST(entry AS BLOB) FROM events WHERE seq = ?').pluck().get(seq);
  return Buffer.isBuffer(bytes) && isUtf8(bytes);
}

// Offsets in an entry `["<hash>",{"v":1,"seq":<seq>,"prevHash":"<prev>",…}]` (see packEntry).
/** Where the body starts in a stored row: after `["<64 hex digits>",`. */
export const BODY_AT = 68;
const PREV_MEMBER = ',"prevHash":"';

/**
 * Same as entryBody(entry).startsWith(linkPrefix(seq, prev)), compared in place: building the
 * prefix string for every event cost a fifth of the walk. Returns where the rest of the body
 * starts (the `,` or `}` after prevHash, as an index into the body), or -1.
 */
function linksTo(entry: string, seq: number, prev: string): number {
  if (!entry.startsWith(SEQ_PREFIX, BODY_AT)) return -1;
  // The seq's digits, compared in place (String(seq) for every event showed in the profile).
  const seqAt = BODY_AT + SEQ_PREFIX.length;
  let end = seqAt;
  let n = 0;
  for (let c = entry.charCodeAt(end); c >= 48 && c <= 57 && end - seqAt < 16; c = entry.charCodeAt(++end)) n = n * 10 + c - 48;
  if (n !== seq || end === seqAt || (entry.charCodeAt(seqAt) === 48 && end - seqAt > 1)) return -1;
  const prevAt = end + PREV_MEMBER.length;
  // substring + === (a native compare of flat one-byte text): startsWith(prev, prevAt) measured
  // ~5 times slower here, a fifth of the walk.
  const linked =
    entry.startsWith(PREV_MEMBER, end) &&
    entry.substring(prevAt, prevAt + prev.length) === prev &&
    entry.charCodeAt(prevAt + prev.length) === 34 && // "
    (entry.charCodeAt(prevAt + prev.length + 1) === 44 || entry.charCodeAt(prevAt + prev.length + 1) === 125); // , or }
  return linked ? prevAt + prev.length + 1 - BODY_AT : -1;
}

function failAt(
  expected: number,
  body: string,
  entry: string,
  prev: string | undefined,
  count: number,
  firstPrevHash: string | undefined,
): SegmentResult {
  const claimed = bodySeq(body);
  let kind: SegmentFailureKind = 'link';
  if (claimed === undefined) kind = 'malformed';
  else if (claimed !== expected) kind = 'seq';
  return {
    count,
    firstPrevHash,
    lastHash: prev,
    failure: { seq: expected, kind, claimedSeq: claimed, storedHash: entryHash(entry) },
  };
}
