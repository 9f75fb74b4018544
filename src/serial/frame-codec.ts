// The wire format of the device protocol as pure functions: encode a frame, parse one line, and an
// incremental decoder that turns arbitrary bytes into frames, errors and noise without ever throwing.
//
//   >0007 WRITE secret=q0Xb…Yw= *1A2B\n       station → device
//   <0007 OK digest=5e88…1d62 *C3D4\n         device → station (same sequence number)
//
// See docs/device-protocol.md for the grammar.
import { crcHex } from './crc16.ts';
import { MAX_FRAME_BYTES } from './device-protocol.ts';

export type Direction = '>' | '<';

export interface Frame {
  dir: Direction;
  /** 1..0xFFFF */
  seq: number;
  /** Command (requests) or OK / ERR (replies). */
  verb: string;
  args: Record<string, string>;
}

export type FrameErrorCode = 'BAD_FRAME' | 'BAD_CRC' | 'TOO_LONG';

export type DecodeResult =
  | { kind: 'frame'; frame: Frame; line: string }
  | { kind: 'error'; code: FrameErrorCode; line: string /** Parsed despite the error, when readable. */; seq?: number }
  | { kind: 'noise'; line: string };

const VERB = /^[A-Z][A-Z_]{0,15}$/;
const KEY = /^[a-z][a-z0-9_]{0,31}$/;
const SEQ = /^[0-9A-F]{4}$/;

/** Percent-encode what may not appear raw in a value: bytes outside 0x21..0x7E, and `%`. */
export function encodeValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Undo the percent-encoding (`%xx` in either case). Undefined when the value is malformed: a raw
 * byte outside 0x21..0x7E, a `%` without two hex digits, bytes that are not UTF-8, or a NUL.
 */
export function decodeValue(value: string): string | undefined {
  if (!/^(?:[\x21-\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*$/.test(value)) return undefined;
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '%') {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(value.charCodeAt(i));
  }
  if (bytes.includes(0)) return undefined;
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

export function seqHex(seq: number): string {
  return seq.toString(16).toUpperCase().padStart(4, '0');
}

/** The frame as one line, LF included. */
export function encodeFrame(frame: Frame): string {
  let body = `${frame.dir}${seqHex(frame.seq)} ${frame.verb}`;
  for (const [k, v] of Object.entries(frame.args)) {
    if (!KEY.test(k)) throw new TypeError(`invalid frame argument name: ${k}`);
    body += ` ${k}=${encodeValue(v)}`;
  }
  if (!VERB.test(frame.verb)) throw new TypeError(`invalid frame verb: ${frame.verb}`);
  const line = `${body} *${crcHex(body)}\n`;
  if (line.length > MAX_FRAME_BYTES) throw new TypeError(`frame longer than ${MAX_FRAME_BYTES} bytes`);
  return line;
}

const FRAME_START = /[<>][0-9A-F]{4} [A-Z]/g;

/**
 * Parse one line (without its LF; a trailing CR is ignored). Never throws. When the line does not
 * parse as it is, a frame that starts later in it is tried: a lost LF glues the rest of a damaged
 * line to the front of the next frame, and that frame's CRC is still intact.
 */
export function parseLine(rawLine: string): DecodeResult {
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  const whole = parseFrameLine(line);
  if (whole.kind === 'frame') return whole;
  for (const m of line.matchAll(FRAME_START)) {
    if (m.index === 0) continue;
    const tail = parseFrameLine(line.slice(m.index));
    if (tail.kind === 'frame') return tail;
  }
  return whole;
}

/**
 * Parse exactly one line as one frame (without its LF or CR), with no search for a later frame
 * start: what a device does, and what the conformance kit uses to judge a device's replies.
 */
export function parseFrameLine(line: string): DecodeResult {
  if (line[0] !== '>' && line[0] !== '<') return { kind: 'noise', line };
  const head = line.slice(1, 5);
  const seq = SEQ.test(head) ? Number.parseInt(head, 16) : undefined;
  const star = line.lastIndexOf(' *');
  if (star < 0 || seq === undefined) return { kind: 'error', code: 'BAD_FRAME', line, seq };
  const body = line.slice(0, star);
  const crc = line.slice(star + 2);
  if (!SEQ.test(crc)) return { kind: 'error', code: 'BAD_FRAME', line, seq };
  if (crcHex(body) !== crc) return { kind: 'error', code: 'BAD_CRC', line, seq };
  const tokens = body.split(' ');
  if (tokens[0].length !== 5 || seq === 0 || tokens.length < 2 || !VERB.test(tokens[1])) {
    return { kind: 'error', code: 'BAD_FRAME', line, seq };
  }
  const args: Record<string, string> = {};
  for (const token of tokens.slice(2)) {
    const eq = token.indexOf('=');
    const key = eq > 0 ? token.slice(0, eq) : '';
    const value = eq > 0 ? decodeValue(token.slice(eq + 1)) : undefined;
    if (!KEY.test(key) || value === undefined || key in args) return { kind: 'error', code: 'BAD_FRAME', line, seq };
    args[key] = value;
  }
  return { kind: 'frame', frame: { dir: line[0] as Direction, seq, verb: tokens[1], args }, line };
}

/**
 * Incremental decoder: push bytes as they arrive, get back whatever complete lines they finished.
 * Memory is bounded: a line longer than MAX_FRAME_BYTES is reported once as TOO_LONG and the rest
 * of it skipped up to the next LF. Bytes are read as latin1, so no input can make it throw.
 */
export class FrameDecoder {
  private buffer = '';
  private skipping = false;

  constructor(private readonly maxBytes: number = MAX_FRAME_BYTES) {}

  push(chunk: Buffer | string): DecodeResult[] {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: DecodeResult[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const piece = text.slice(start, nl < 0 ? text.length : nl);
      if (this.skipping) {
        if (nl >= 0) this.skipping = false;
      } else if (this.buffer.length + piece.length + 1 > this.maxBytes) {
        out.push({ kind: 'error', code: 'TOO_LONG', line: (this.buffer + piece).slice(0, 64) });
        this.buffer = '';
        this.skipping = nl < 0;
      } else if (nl >= 0) {
        const line = this.buffer + piece;
        this.buffer = '';
        if (line.length > 0 && line !== '\r') out.push(parseLine(line));
      } else {
        this.buffer += piece;
      }
      if (nl < 0) break;
      start = nl + 1;
    }
    return out;
  }

  /** Bytes held while waiting for the end of a line. */
  get pending(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = '';
    this.skipping = false;
  }
}

const SECRET_ARG = /(\bsecret=)\S*/g;
// A Base64 secret that lost its `secret=` key to line noise must still not reach a log.
const SECRET_LIKE = /[A-Za-z0-9+/]{40,}={0,2}/g;

/** A line made safe for logs: secrets and anything shaped like one are replaced. */
export function redactLine(line: string): string {
  return line
    .replace(/\n$/, '')
    .replace(SECRET_ARG, '$1[redacted]')
    .replace(SECRET_LIKE, (run) => (/^[0-9a-f]+$/.test(run) ? run : '[redacted]')) // keep hex digests
    .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
