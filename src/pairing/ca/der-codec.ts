// A minimal, strict DER reader and writer for the CA's hot path (CSR in, certificate out, certificate check).
// Why not @peculiar/asn1-schema here: on this machine it parses a CSR in ~175 µs and serializes a TBSCertificate
// in ~450 µs, more than the whole budget of a credentials request at 3,000/s. The peculiar schemas still build
// the rarely made structures (the CA certificate) and cross-check our output in the tests.

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag number n: constructed ([n] EXPLICIT or a constructed IMPLICIT) or primitive. */
export const ctx = (n: number, constructed = true): number => (constructed ? 0xa0 : 0x80) | n;

export class DerError extends Error {
  override readonly name = 'DerError';
}

/** One decoded TLV: `tag`, its whole encoding `buf[start, end)` and its content `buf[contentStart, end)`. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the TLV at `offset`, which must end at or before `limit`. Only DER: definite, minimal lengths. */
export function readTlv(buf: Buffer, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let len = buf[offset + 1];
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 4) throw new DerError('length too large');
    if (contentStart + n > limit) throw new DerError('truncated length');
    if (buf[contentStart] === 0) throw new DerError('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i];
    if (len < 0x80) throw new DerError('non-minimal length');
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError('truncated content');
  return { tag, start: offset, contentStart, end };
}

/** Reads a TLV that must span the whole buffer. */
export function readWhole(buf: Buffer, expectTag: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.tag !== expectTag) throw new DerError(`expected tag 0x${expectTag.toString(16)}, got 0x${t.tag.toString(16)}`);
  if (t.end !== buf.length) throw new DerError('trailing data after the structure');
  return t;
}

/** The children of a constructed TLV. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.contentStart;
  while (off < parent.end) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new DerError(`${what} is missing`);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

export const whole = (buf: Buffer, t: Tlv): Buffer => buf.subarray(t.start, t.end);
export const content = (buf: Buffer, t: Tlv): Buffer => buf.subarray(t.contentStart, t.end);

// ---- writer -------------------------------------------------------------------------------------------------

/** One TLV with the given tag around the concatenation of `parts`, written into a single allocation. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const lenOctets = len < 0x80 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
  const out = Buffer.allocUnsafe(2 + lenOctets + len);
  out[0] = tag;
  if (lenOctets === 0) out[1] = len;
  else {
    out[1] = 0x80 | lenOctets;
    for (let i = 0; i < lenOctets; i++) out[2 + i] = (len >>> (8 * (lenOctets - 1 - i))) & 0xff;
  }
  let off = 2 + lenOctets;
  for (const p of parts) off += p.copy(out, off);
  return out;
}

export const seq = (...parts: Buffer[]): Buffer => tlv(TAG.SEQUENCE, ...parts);

/** A non-negative INTEGER from its big-endian magnitude (leading zeros stripped, 0x00 added when the top bit is set). */
export function uintFromBytes(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let m = magnitude.subarray(i);
  if (m.length === 0) m = Buffer.from([0]);
  if (m[0] & 0x80) m = Buffer.concat([Buffer.from([0]), m]);
  return tlv(TAG.INTEGER, m);
}

export function uintFromBigInt(v: bigint): Buffer {
  if (v < 0n) throw new DerError('negative integer');
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return uintFromBytes(Buffer.from(hex, 'hex'));
}

/** Encodes a dotted OID (done once per constant, never on the hot path). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const first = arcs[0] * 40n + arcs[1];
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const bytes: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) bytes.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...bytes);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.from([unusedBits]), bytes);
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always with seconds and Z. */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 9999) throw new DerError('date out of range');
  const rest = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  if (y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${pad2(y % 100)}${rest}`, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${y}${rest}`, 'latin1'));
}

const UTC_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GEN_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** Decodes a UTCTime or GeneralizedTime in the RFC 5280 profile (seconds, Z, no fractions). */
export function readTime(buf: Buffer, t: Tlv): Date {
  const s = buf.toString('latin1', t.contentStart, t.end);
  const m = t.tag === TAG.UTC_TIME ? UTC_RE.exec(s) : t.tag === TAG.GENERALIZED_TIME ? GEN_RE.exec(s) : null;
  if (!m) throw new DerError('malformed time');
  const y = Number(m[1]);
  const year = t.tag === TAG.GENERALIZED_TIME ? y : y >= 50 ? 1900 + y : 2000 + y;
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new DerError('malformed time');
  }
  return date;
}

/** Decodes the common directory-string types used in names (UTF8String, PrintableString, IA5String, BMPString). */
export function readString(buf: Buffer, t: Tlv): string {
  const c = content(buf, t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
      return c.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
      return c.toString('latin1');
    case TAG.BMP_STRING: {
      const swapped = Buffer.from(c);
      if (swapped.length % 2) throw new DerError('malformed BMPString');
      return swapped.swap16().toString('utf16le');
    }
    default:
      throw new DerError(`unsupported string type 0x${t.tag.toString(16)}`);
  }
}
