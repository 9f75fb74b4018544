// What a scanned label says about a device. Rules, tried in this order (docs/labels.md):
//  1. URL (http/https): GS1 Digital Link path segment `/21/<serial>` (with `/01/<gtin>` kept as
//     gtin), or a query parameter `serial`, `sn` or `device_id`.
//  2. GS1 element string: human-readable `(01)…(21)…`, or raw AIs when the scanner announced a GS1
//     symbology (]C1 ]d2 ]Q3 ]e0 ]J1), or the data contains GS (0x1D), or it starts `01` + 14 digits
//     followed by `21`. AI (21) is the serial; (01) the GTIN.
//  3. MAC address with separators (`:`, `-`, or Cisco dots), or `MAC:` + 12 hex digits → `AA:BB:CC:DD:EE:FF`.
//  4. Device id: 22 characters of canonical base64url with at least one lowercase letter or `_`
//     (so an upper-case serial of 22 characters stays a serial), or prefixed `ID:`.
//  5. Bare serial: matches serialPattern (default 4–32 of A–Z a–z 0–9 `-` `.` `/`, starting alphanumeric).
// Anything else is LABEL_UNRECOGNISED.

import { isCanonicalDeviceId } from '../common/device-id.ts';
import { errorClass } from '../common/errors.ts';

export type LabelKind = 'serial' | 'mac' | 'device-id';

export interface ParsedLabel {
  kind: LabelKind;
  /** The identifier, normalised (MAC in upper case with colons). */
  value: string;
  /** What was scanned (after scanner noise was stripped). */
  raw: string;
  /** The GTIN of a GS1 label or Digital Link, when present. */
  gtin?: string;
  /** Which rule matched. */
  source: 'url' | 'gs1' | 'mac' | 'device-id' | 'serial';
}

export interface LabelParseOptions {
  /** Bare serials must match this. */
  serialPattern?: RegExp;
  /** AIM symbology identifier the scanner reported (e.g. `]d2`), if any. */
  symbology?: string;
}

export const DEFAULT_SERIAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9./-]{3,31}$/;
const GS = '\x1d';
const GS1_SYMBOLOGIES = new Set([']C1', ']d2', ']Q3', ']e0', ']J1']);

export const LABEL_ERRORS = {
  LABEL_UNRECOGNISED: {
    message: 'The label was not recognised as a serial, MAC address, device id, GS1 code or URL.',
    action: 'Scan the device label again, or check the label format rules (docs/labels.md).',
  },
} as const;

const LabelCatalogueError = errorClass('LabelError', LABEL_ERRORS);

/** A scan that names no device: `detail` says what was wrong with it, `details.scanned` shows it. */
export class LabelError extends LabelCatalogueError {
  constructor(detail: string, raw: string) {
    super('LABEL_UNRECOGNISED', detail, { details: { scanned: printable(raw) } });
  }
}

export function parseLabel(input: string, opts: LabelParseOptions = {}): ParsedLabel {
  const aim = splitAimPrefix(input.trim());
  const raw = aim.text.trim();
  if (raw === '') throw new LabelError('the scan was empty', input);
  opts = { ...opts, symbology: opts.symbology ?? aim.symbology };
  const serialPattern = opts.serialPattern ?? DEFAULT_SERIAL_PATTERN;

  if (/^https?:\/\//i.test(raw)) return fromUrl(raw, serialPattern);
  if (raw.startsWith('(') || raw.includes(GS) || GS1_SYMBOLOGIES.has(opts.symbology ?? '') || /^01\d{14}21/.test(raw)) {
    return fromGs1(raw, serialPattern);
  }
  const mac = normaliseMac(raw);
  if (mac) return { kind: 'mac', value: mac, raw, source: 'mac' };
  const id = raw.replace(/^ID:/i, '');
  if (isCanonicalDeviceId(id) && (id !== raw || /[a-z_]/.test(id)))
    return { kind: 'device-id', value: id, raw, source: 'device-id' };
  if (serialPattern.test(raw)) return { kind: 'serial', value: raw, raw, source: 'serial' };
  throw new LabelError(`"${printable(raw)}" matches no rule`, raw);
}

/**
 * Split an AIM symbology identifier (`]` + code letter + modifier, e.g. `]C1` GS1-128, `]d2` GS1
 * DataMatrix, `]Q3` QR, `]E0` EAN-13) off the front of scanned data.
 */
export function splitAimPrefix(data: string): { text: string; symbology?: string } {
  const m = /^\][A-Za-z][0-9A-Za-z]/.exec(data);
  return m ? { text: data.slice(3), symbology: m[0] } : { text: data };
}

function fromUrl(raw: string, serialPattern: RegExp): ParsedLabel {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LabelError('a malformed URL', raw);
  }
  const segments = url.pathname.split('/').map((s) => safeDecode(s));
  const at = (ai: string) => {
    const i = segments.indexOf(ai);
    return i >= 0 && i + 1 < segments.length && segments[i + 1] ? segments[i + 1] : undefined;
  };
  const gtin = at('01') ?? at('02');
  const serial = at('21') ?? url.searchParams.get('serial') ?? url.searchParams.get('sn') ?? undefined;
  if (serial) {
    if (!serialPattern.test(serial)) throw new LabelError(`the serial in the URL ("${printable(serial)}") is malformed`, raw);
    return { kind: 'serial', value: serial, raw, source: 'url', ...(gtin ? { gtin } : {}) };
  }
  const id = url.searchParams.get('device_id');
  if (id && isCanonicalDeviceId(id)) return { kind: 'device-id', value: id, raw, source: 'url' };
  throw new LabelError('the URL holds no serial (/21/…, ?serial=, ?sn=) or device id (?device_id=)', raw);
}

// Fixed-length AIs (data length); every other AI listed in VARIABLE ends at GS or at the end.
const FIXED: Record<string, number> = {
  '00': 18,
  '01': 14,
  '02': 14,
  '11': 6,
  '12': 6,
  '13': 6,
  '15': 6,
  '16': 6,
  '17': 6,
  '20': 2,
};
const VARIABLE: Record<string, number> = {
  '10': 20,
  '21': 20,
  '22': 20,
  '240': 30,
  '241': 30,
  '250': 30,
  '251': 30,
  '30': 8,
  '37': 8,
  '90': 30,
  '91': 90,
  '92': 90,
};

function fromGs1(raw: string, serialPattern: RegExp): ParsedLabel {
  const ais = raw.startsWith('(') ? parseBracketed(raw) : parseRawGs1(raw.replace(/^\x1d/, ''));
  if (!ais) throw new LabelError('a GS1 code that could not be read', raw);
  const serial = ais.get('21');
  if (!serial) throw new LabelError('the GS1 code has no serial number (AI 21)', raw);
  if (!serialPattern.test(serial)) throw new LabelError(`the GS1 serial ("${printable(serial)}") is malformed`, raw);
  const gtin = ais.get('01');
  return { kind: 'serial', value: serial, raw, source: 'gs1', ...(gtin ? { gtin } : {}) };
}

function parseBracketed(raw: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const re = /\((\d{2,4})\)([^(]*)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  for (;;) {
    m = re.exec(raw);
    if (!m) break;
    consumed = re.lastIndex;
    if (!checkAi(m[1], m[2])) return undefined;
    out.set(m[1], m[2]);
  }
  return consumed === raw.length && out.size > 0 ? out : undefined;
}

function parseRawGs1(data: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const ai = [data.slice(i, i + 2), data.slice(i, i + 3)].find((a) => a in FIXED || a in VARIABLE);
    if (!ai) return undefined;
    i += ai.length;
    let value: string;
    if (ai in FIXED) {
      value = data.slice(i, i + FIXED[ai]);
      i += FIXED[ai];
    } else {
      const end = data.indexOf(GS, i);
      value = data.slice(i, end < 0 ? data.length : end);
      i = end < 0 ? data.length : end;
    }
    if (!checkAi(ai, value)) return undefined;
    out.set(ai, value);
    if (data[i] === GS) i++;
  }
  return out.size > 0 ? out : undefined;
}

function checkAi(ai: string, value: string): boolean {
  if (ai in FIXED) return value.length === FIXED[ai] && /^\d+$/.test(value);
  if (ai in VARIABLE) return value.length > 0 && value.length <= VARIABLE[ai] && /^[\x21-\x7e]+$/.test(value);
  return false;
}

function normaliseMac(raw: string): string | undefined {
  let hex: string | undefined;
  if (/^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$/.test(raw)) hex = raw.replace(/[:-]/g, '');
  else if (/^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/.test(raw)) hex = raw.replace(/\./g, '');
  else if (/^MAC[:=]\s*[0-9A-Fa-f]{12}$/i.test(raw)) hex = raw.slice(-12);
  return hex ? hex.toUpperCase().match(/../g)!.join(':') : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A short, printable excerpt of scanned data for messages. */
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 48 ? `${clean.slice(0, 45)}...` : clean;
}
