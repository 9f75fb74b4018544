// The canonical serialization of an audit event (documented in docs/audit-trail.md).
// Body = compact JSON object with the fields in this fixed order, absent fields omitted, `data`
// with its keys sorted recursively; hash = hex SHA-256 of the body's UTF-8 bytes.

import { AuditError } from './audit-errors.ts';
import type { AuditEvent, AuditEventInput } from './audit-types.ts';
import { BODY_MEMBERS } from './canonical-check.ts';
import { EVENT_FORMAT_VERSION, entryBody, entryHash, hashBody } from './chain-link.ts';

/**
 * Field order of the canonical body after "v". Also the column order of the CSV export (hash after
 * prevHash). The one list is canonical-check.ts's.
 */
export const EVENT_FIELDS = BODY_MEMBERS.slice(1) as readonly (keyof AuditEvent)[];

/**
 * JSON with object keys sorted by UTF-16 code units (recursively), no whitespace, undefined
 * members dropped. Written by hand: JS objects list integer-like keys first, so building a sorted
 * object and calling JSON.stringify would not give one well-defined order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError(`not representable in JSON: ${typeof value}`);
    return s;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson(JSON.parse(JSON.stringify(value)));
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const parts: string[] = [];
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
      parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The canonical text of a `data` object normalizeInput produced (it serialised it to check it):
 * sealing splices that text in instead of serialising the object again, once (the object is the
 * caller's after that, and may change).
 */
export const canonicalDataText = new WeakMap<object, string>();

/**
 * The canonical body of an event (without its own hash). This is the append hot path: one native
 * JSON.stringify of an object literal whose members are in canonical order (it omits undefined
 * members, and `?? undefined` drops nulls too), with `data` (last in the order) spliced in as
 * canonical JSON (`dataText`: that JSON, when the caller has it). Every value is written exactly as
 * JSON.stringify writes it on its own. (Concatenating the members by hand measured slower: the
 * hash then has to flatten the string.)
 */
export function canonicalBody(e: Omit<AuditEvent, 'hash'>, dataText?: string): string {
  const head = JSON.stringify({
    v: EVENT_FORMAT_VERSION,
    seq: e.seq ?? undefined,
    prevHash: e.prevHash ?? undefined,
    ts: e.ts ?? undefined,
    station: e.station ?? undefined,
    operator: e.operator ?? undefined,
    fixture: e.fixture ?? undefined,
    batchId: e.batchId ?? undefined,
    deviceId: e.deviceId ?? undefined,
    hardwareSerial: e.hardwareSerial ?? undefined,
    step: e.step ?? undefined,
    outcome: e.outcome ?? undefined,
    errorCode: e.errorCode ?? undefined,
    message: e.message ?? undefined,
    durationMs: e.durationMs ?? undefined,
    secretFingerprint: e.secretFingerprint ?? undefined,
  });
  if (e.data === undefined || e.data === null) return head;
  return `${head.slice(0, -1)},"data":${dataText ?? canonicalJson(e.data)}}`;
}

/**
 * Turns a normalized input into the stored event: assigns seq, ts, prevHash and the hash. Takes
 * ownership of `input` (the private copy normalizeInput made) and completes it in place: on the
 * append hot path one object per event instead of three.
 */
export function sealEvent(
  input: AuditEventInput,
  seq: number,
  ts: string,
  prevHash: string,
): { event: AuditEvent; body: string } {
  const body = sealBody(input, seq, ts, prevHash);
  const event = input as AuditEvent;
  event.hash = hashBody(body);
  return { event, body };
}

/**
 * sealEvent without the hash: assigns seq, ts and prevHash and returns the canonical body, for a
 * caller that hashes the body's UTF-8 bytes itself (the trail's writer, which encodes them once).
 */
export function sealBody(input: AuditEventInput, seq: number, ts: string, prevHash: string): string {
  const event = input as AuditEvent;
  event.seq = seq;
  event.prevHash = prevHash;
  event.ts = ts;
  let dataText: string | undefined;
  if (event.data) {
    dataText = canonicalDataText.get(event.data);
    canonicalDataText.delete(event.data);
  }
  return canonicalBody(event, dataText);
}

/**
 * The text of a stored `entry`, or AUDIT_DAMAGED when the row holds something else (a damaged or
 * tampered file): readers of a trail that does not verify get a sentence, not a JavaScript error.
 */
export function entryText(entry: unknown, seq?: number): string {
  if (typeof entry === 'string' && entry.length > 70) return entry;
  throw unreadableEntry(seq);
}

function unreadableEntry(seq?: number): AuditError {
  return new AuditError('AUDIT_DAMAGED', `${seq === undefined ? 'a stored event' : `event ${seq}`} cannot be read`);
}

/** The event stored as an `entry` row (see packEntry). */
export function eventFromEntry(stored: unknown): AuditEvent {
  const entry = entryText(stored);
  let event: AuditEvent & { v?: number };
  try {
    event = JSON.parse(entryBody(entry));
  } catch {
    throw unreadableEntry();
  }
  delete event.v;
  event.hash = entryHash(entry);
  return event;
}

/** Rebuilds the body of an event read back from an export (all values already typed). */
export function bodyOfEvent(e: AuditEvent): string {
  const { hash: _hash, ...rest } = e;
  return canonicalBody(rest);
}
