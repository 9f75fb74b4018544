// The header and trailer around an export's events (CSV and JSON lines alike). The trailer's
// signature covers the whole header and the trailer's counts, so neither the start (`fromSeq`)
// nor the end (`events`, `lastSeq`, `lastHash`) of an export can be changed unnoticed.
import { canonicalJson } from './audit-canonical.ts';
import { jsonValueProblem } from './canonical-check.ts';
import { keyIdOf, type SigningKey, verifySignature } from './station-signing-key.ts';

export const EXPORT_FORMAT = 'imprint-audit-export/2';

export interface ExportHeader {
  type: 'header';
  format: typeof EXPORT_FORMAT;
  /** The station that wrote the first exported event. */
  station: string;
  exportedAt: string;
  /** Seq of the first event in the export. */
  fromSeq: number;
  /** Present for a batch export. */
  batchId?: string;
  keyId: string;
  /** Base64 DER SubjectPublicKeyInfo of the Ed25519 key that signs the trailer. */
  publicKey: string;
}

export interface ExportTrailer {
  type: 'trailer';
  events: number;
  /** Seq and hash of the last exported event; null when the export holds no event. */
  lastSeq: number | null;
  lastHash: string | null;
  /** Base64 Ed25519 signature over signedExportText(header, trailer without signature). */
  signature: string;
}

const HEADER_MEMBERS = ['exportedAt', 'format', 'fromSeq', 'keyId', 'publicKey', 'station', 'type'];
const TRAILER_MEMBERS = ['events', 'lastHash', 'lastSeq', 'signature', 'type'];

export function makeHeader(o: { station: string; fromSeq: number; batchId?: string; key: SigningKey }): ExportHeader {
  const h: ExportHeader = {
    type: 'header',
    format: EXPORT_FORMAT,
    station: o.station,
    exportedAt: new Date().toISOString(),
    fromSeq: o.fromSeq,
    keyId: o.key.keyId,
    publicKey: o.key.publicKey,
  };
  if (o.batchId) h.batchId = o.batchId;
  return h;
}

/** The signed text: the format line, then canonical JSON of {header, trailer} (trailer without its signature). */
export function signedExportText(header: ExportHeader, trailer: Omit<ExportTrailer, 'signature'>): string {
  return `${EXPORT_FORMAT}\n${canonicalJson({ header, trailer })}`;
}

export function makeTrailer(
  header: ExportHeader,
  key: SigningKey,
  events: number,
  last: { seq: number; hash: string } | undefined,
): ExportTrailer {
  const unsigned = { type: 'trailer' as const, events, lastSeq: last?.seq ?? null, lastHash: last?.hash ?? null };
  return { ...unsigned, signature: key.sign(signedExportText(header, unsigned)) };
}

/** Parses a header's JSON text (canonical form required); a string says why it is not one. */
export function parseHeader(text: string): ExportHeader | string {
  const o = parseCanonicalObject(text, 'header');
  if (typeof o === 'string') return o;
  if (o.format !== EXPORT_FORMAT)
    return o.format === 'imprint-audit-export/1'
      ? 'an export in format 1 has no signed trailer and cannot be checked for removed events: export it again'
      : `unknown export format ${JSON.stringify(o.format)}`;
  const optional = typeof o.batchId === 'string' && o.batchId !== '' ? ['batchId'] : [];
  const members = exactly(o, [...HEADER_MEMBERS, ...optional].sort());
  if (members) return `header: ${members}`;
  if (!Number.isSafeInteger(o.fromSeq) || (o.fromSeq as number) < 1) return 'header: fromSeq is not a positive integer';
  for (const k of ['station', 'exportedAt', 'keyId', 'publicKey'])
    if (typeof o[k] !== 'string') return `header: ${k} is not a string`;
  return o as unknown as ExportHeader;
}

export function parseTrailer(text: string): ExportTrailer | string {
  const o = parseCanonicalObject(text, 'trailer');
  if (typeof o === 'string') return o;
  const members = exactly(o, TRAILER_MEMBERS);
  if (members) return `trailer: ${members}`;
  if (!Number.isSafeInteger(o.events) || (o.events as number) < 0) return 'trailer: events is not a count';
  if (o.lastSeq !== null && !Number.isSafeInteger(o.lastSeq)) return 'trailer: lastSeq is not an integer';
  if (o.lastHash !== null && typeof o.lastHash !== 'string') return 'trailer: lastHash is not a string';
  if (typeof o.signature !== 'string') return 'trailer: signature is not a string';
  return o as unknown as ExportTrailer;
}

/**
 * Why the trailer does not vouch for what was read: counts, last event, signature and key.
 * `last` is the last event read (undefined: none).
 */
export function trailerProblem(
  header: ExportHeader,
  trailer: ExportTrailer,
  read: { events: number; last?: { seq: number; hash: string } },
  trustedKeyIds?: readonly string[],
): string | undefined {
  const { signature, ...unsigned } = trailer;
  const keyId = keyIdOf(header.publicKey);
  if (header.keyId !== keyId) return `the export's key id ${header.keyId} does not match its public key`;
  if (trustedKeyIds && !trustedKeyIds.includes(keyId)) return `the export is signed by ${keyId}, not a trusted station key`;
  if (!verifySignature(header.publicKey, signedExportText(header, unsigned), signature))
    return "the export's signature does not verify: its header or trailer was changed";
  const lastSeq = read.last?.seq ?? null;
  if (trailer.lastSeq !== lastSeq || trailer.events !== read.events)
    return `the export ends early: its signed trailer says ${trailer.events} events up to event ${trailer.lastSeq}, it holds ${read.events}${lastSeq === null ? '' : ` up to event ${lastSeq}`}`;
  if (trailer.lastHash !== (read.last?.hash ?? null)) return 'the last event is not the one the signed trailer records';
  return undefined;
}

/** A header or trailer object in canonical JSON with this `type`, or why not. */
export function parseCanonicalObject(text: string, what: string): Record<string, unknown> | string {
  const problem = jsonValueProblem(text, { object: true });
  if (problem) return `the ${what} is not canonical JSON (${problem})`;
  const o = JSON.parse(text) as Record<string, unknown>;
  if (o.type !== what) return `expected the ${what}`;
  return o;
}

/** Why an object does not have exactly these members (sorted), or undefined. */
export function exactly(o: Record<string, unknown>, members: readonly string[]): string | undefined {
  const keys = Object.keys(o).sort();
  return keys.length === members.length && keys.every((k, i) => k === members[i])
    ? undefined
    : `expected exactly the members ${members.join(', ')}`;
}
