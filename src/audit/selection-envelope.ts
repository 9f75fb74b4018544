// The header and trailer of a selection export (`imprint-audit-selection/1`, docs/audit-trail.md
// "Selections"): what QA's search selected. Not a stretch of the chain: the signed trailer covers
// the header (the search), the count and a digest of the events' hashes, so an event changed,
// dropped, added or moved is evident. It cannot show that the search left nothing out.
import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from './audit-canonical.ts';
import { exactly, parseCanonicalObject } from './export-envelope.ts';
import { keyIdOf, type SigningKey, verifySignature } from './station-signing-key.ts';

export const SELECTION_FORMAT = 'imprint-audit-selection/1';

export interface SelectionHeader {
  type: 'header';
  format: typeof SELECTION_FORMAT;
  station: string;
  exportedAt: string;
  /** The search's members that were set, as strings (e.g. {"find": "sn00", "outcome": "fail"}). */
  selection: Record<string, string>;
  keyId: string;
  publicKey: string;
}

export interface SelectionTrailer {
  type: 'trailer';
  events: number;
  /** Lower-case hex SHA-256 over each event's hash followed by LF, in the export's order. */
  digest: string;
  signature: string;
}

const HEADER_MEMBERS = ['exportedAt', 'format', 'keyId', 'publicKey', 'selection', 'station', 'type'];
const TRAILER_MEMBERS = ['digest', 'events', 'signature', 'type'];
const HEX64 = /^[0-9a-f]{64}$/;

export function makeSelectionHeader(o: { station: string; selection: Record<string, string>; key: SigningKey }): SelectionHeader {
  return {
    type: 'header',
    format: SELECTION_FORMAT,
    station: o.station,
    exportedAt: new Date().toISOString(),
    selection: o.selection,
    keyId: o.key.keyId,
    publicKey: o.key.publicKey,
  };
}

/** The signed text: the format line, then canonical JSON of {header, trailer} (trailer without its signature). */
export function signedSelectionText(header: SelectionHeader, trailer: Omit<SelectionTrailer, 'signature'>): string {
  return `${SELECTION_FORMAT}\n${canonicalJson({ header, trailer })}`;
}

/** The running digest of the events' hashes. */
export class SelectionDigest {
  private readonly h: Hash = createHash('sha256');
  count = 0;

  add(hash: string): void {
    this.h.update(`${hash}\n`);
    this.count++;
  }

  hex(): string {
    return this.h.digest('hex');
  }
}

/** True when a header's text names the selection format (before it is checked in full). */
export function isSelectionHeader(text: string): boolean {
  return text.includes(`"format":"${SELECTION_FORMAT}"`);
}

export function parseSelectionHeader(text: string): SelectionHeader | string {
  const o = parseCanonicalObject(text, 'header');
  if (typeof o === 'string') return o;
  if (o.format !== SELECTION_FORMAT) return `unknown export format ${JSON.stringify(o.format)}`;
  const members = exactly(o, HEADER_MEMBERS);
  if (members) return `header: ${members}`;
  for (const k of ['station', 'exportedAt', 'keyId', 'publicKey'])
    if (typeof o[k] !== 'string') return `header: ${k} is not a string`;
  const sel = o.selection;
  if (typeof sel !== 'object' || sel === null || Array.isArray(sel)) return 'header: selection is not an object';
  for (const [k, v] of Object.entries(sel))
    if (typeof v !== 'string' || v === '') return `header: selection member ${k} is not a non-empty string`;
  return o as unknown as SelectionHeader;
}

export function parseSelectionTrailer(text: string): SelectionTrailer | string {
  const o = parseCanonicalObject(text, 'trailer');
  if (typeof o === 'string') return o;
  const members = exactly(o, TRAILER_MEMBERS);
  if (members) return `trailer: ${members}`;
  if (!Number.isSafeInteger(o.events) || (o.events as number) < 0) return 'trailer: events is not a count';
  if (typeof o.digest !== 'string' || !HEX64.test(o.digest)) return 'trailer: digest is not 64 lower-case hex digits';
  if (typeof o.signature !== 'string') return 'trailer: signature is not a string';
  return o as unknown as SelectionTrailer;
}

/** Why the trailer does not vouch for the events read (key, signature, count, digest), or undefined. */
export function selectionTrailerProblem(
  header: SelectionHeader,
  trailer: SelectionTrailer,
  read: { events: number; digest: string },
  trustedKeyIds?: readonly string[],
): string | undefined {
  const { signature, ...unsigned } = trailer;
  const keyId = keyIdOf(header.publicKey);
  if (header.keyId !== keyId) return `the selection's key id ${header.keyId} does not match its public key`;
  if (trustedKeyIds && !trustedKeyIds.includes(keyId)) return `the selection is signed by ${keyId}, not a trusted station key`;
  if (!verifySignature(header.publicKey, signedSelectionText(header, unsigned), signature))
    return "the selection's signature does not verify: its header (the search) or trailer was changed";
  if (trailer.events !== read.events)
    return `events missing or added: the signed trailer says ${trailer.events} events, the selection holds ${read.events}`;
  if (trailer.digest !== read.digest)
    return "the events are not the ones the signed trailer's digest records (one was replaced, moved or dropped)";
  return undefined;
}
