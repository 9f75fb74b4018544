// The canonical serialization of an audit event (documented in docs/audit-trail.md).
// Body = compact JSON object with the fields in this fixed order, absent fields omitted, `data`
// with its keys sorted recursively; hash = hex SHA-256 of the body's UTF-8 bytes.

import type { AuditEvent, AuditEventInput } from './audit-types.ts';
import { EVENT_FORMAT_VERSION, entryBody, entryHash, hashBody } from './chain-link.mjs';

/** Field order of the canonical body after "v". Also the column order of the CSV export (hash after prevHash). */
export const EVENT_FIELDS = [
  'seq',
  'prevHash',
  'ts',
  'station',
  'operator',
  'fixture',
  'batchId',
  'deviceId',
  'hardwareSerial',
  'step',
  'outcome',
  'errorCode',
  'message',
  'durationMs',
  'secretFingerprint',
  'data',
] as const satisfies readonly (keyof AuditEvent)[];

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

/** The canonical body of an event (without its own hash). */
export function canonicalBody(e: Omit<AuditEvent, 'hash'>): string {
  // One JSON.stringify over an object literal in EVENT_FIELDS order (it drops undefined members);
  // `data`, always last, is spliced in as canonical JSON. This is the append hot path.
  const n = <T>(v: T | null | undefined) => (v === null ? undefined : v);
  const head = JSON.stringify({
    v: EVENT_FORMAT_VERSION,
    seq: n(e.seq),
    prevHash: n(e.prevHash),
    ts: n(e.ts),
    station: n(e.station),
    operator: n(e.operator),
    fixture: n(e.fixture),
    batchId: n(e.batchId),
    deviceId: n(e.deviceId),
    hardwareSerial: n(e.hardwareSerial),
    step: n(e.step),
    outcome: n(e.outcome),
    errorCode: n(e.errorCode),
    message: n(e.message),
    durationMs: n(e.durationMs),
    secretFingerprint: n(e.secretFingerprint),
  } satisfies Record<'v' | Exclude<(typeof EVENT_FIELDS)[number], 'data'>, unknown>);
  return e.data === undefined || e.data === null ? head : `${head.slice(0, -1)},"data":${canonicalJson(e.data)}}`;
}

/** Builds the stored event: assigns seq, ts, prevHash, computes the hash. `input` is already normalized. */
export function sealEvent(
  input: AuditEventInput,
  seq: number,
  ts: string,
  prevHash: string,
): { event: AuditEvent; body: string } {
  const event = { ...input, seq, prevHash, ts } as AuditEvent;
  const body = canonicalBody(event);
  event.hash = hashBody(body);
  return { event, body };
}

/** The event stored as an `entry` row (see packEntry). */
export function eventFromEntry(entry: string): AuditEvent {
  const event = JSON.parse(entryBody(entry)) as AuditEvent & { v?: number };
  delete event.v;
  event.hash = entryHash(entry);
  return event;
}

/** Rebuilds the body of an event read back from an export (all values already typed). */
export function bodyOfEvent(e: AuditEvent): string {
  const { hash: _hash, ...rest } = e;
  return canonicalBody(rest);
}
