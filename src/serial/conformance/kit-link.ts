// The conformance kit's side of the wire: it sends exact lines (well-formed or deliberately
// broken), records every line in both directions with its time, and waits for the reply to one
// sequence number. Unlike the station's FramedLink it never retries and never repairs anything:
// what the device sends is the evidence.
import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { crcHex } from '../crc16.ts';
import { encodeFrame, type Frame, parseFrameLine, seqHex } from '../frame-codec.ts';

export interface WireLine {
  dir: 'tx' | 'rx';
  /** The line without its LF (a CR before the LF is kept, shown as \r). */
  line: string;
  /** Milliseconds since the kit started. */
  atMs: number;
}

export interface Exchange {
  seq: number;
  request: string;
  /** The first reply frame with this sequence number, when one arrived in time. */
  reply?: Frame;
  replyLine?: string;
  /** From writing the request to the LF of the reply. */
  latencyMs?: number;
}

/** Build a request line by hand: `args` as written (already encoded), CRC computed over the body. */
export function rawRequest(seq: string, verb: string, args = ''): string {
  const body = `>${seq} ${verb}${args ? ` ${args}` : ''}`;
  return `${body} *${crcHex(body)}`;
}

export class KitLink {
  readonly lines: WireLine[] = [];
  /** Lines recorded for the rule being checked. */
  evidence: WireLine[] = [];
  readonly sentSeqs = new Set<number>();
  /** Lines before this index arrived before the kit said anything (stale bytes in a tty buffer). */
  sessionStart = 0;
  private seq = randomInt(1, 0xff00);
  private rxBuffer = '';
  private readonly started = performance.now();
  private wake = new Set<() => void>();
  closedReason?: string;

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('close', () => this.close('the port closed'));
    stream.on('error', (e: Error) => this.close(`port error: ${e.message}`));
  }

  get now(): number {
    return performance.now() - this.started;
  }

  /** A fresh sequence number, never 0000. */
  nextSeq(): number {
    this.seq = this.seq >= 0xffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** Send a line as it is (the LF is added) and record it. */
  send(line: string, ending = '\n'): number {
    const entry: WireLine = { dir: 'tx', line: ending === '\r\n' ? `${line}\r` : line, atMs: this.now };
    this.lines.push(entry);
    this.evidence.push(entry);
    if (!this.closedReason) this.stream.write(Buffer.from(line + ending, 'latin1'));
    return entry.atMs;
  }

  /** A well-formed request with a fresh sequence number (or the one given). */
  request(verb: string, args: Record<string, string> = {}, waitMs = 1000, seq = this.nextSeq()): Promise<Exchange> {
    return this.exchange(encodeFrame({ dir: '>', seq, verb, args }).slice(0, -1), seq, waitMs);
  }

  /** Send `line` and wait up to `waitMs` for the first reply frame carrying `seq`. */
  async exchange(line: string, seq: number, waitMs: number, ending = '\n'): Promise<Exchange> {
    this.sentSeqs.add(seq);
    const from = this.lines.length;
    const sentAt = this.send(line, ending);
    let found: WireLine | undefined;
    await this.waitUntil(() => {
      found = this.lines.slice(from).find((l) => l.dir === 'rx' && l.line.startsWith(`<${seqHex(seq)}`));
      return found !== undefined;
    }, waitMs);
    const result: Exchange = { seq, request: line };
    if (!found) return result;
    const parsed = parseFrameLine(found.line);
    result.replyLine = found.line;
    result.latencyMs = found.atMs - sentAt;
    if (parsed.kind === 'frame') result.reply = parsed.frame;
    return result;
  }

  /**
   * Prove silence: send a STATUS with a fresh sequence number and wait for its reply. A device
   * handles requests in order, so whatever it sent for earlier lines arrived before that reply.
   * Resolves with the lines received in between (undefined when the probe got no reply).
   */
  async sync(waitMs: number): Promise<{ between: WireLine[]; probe: Exchange } | undefined> {
    const from = this.lines.length;
    const probe = await this.request('STATUS', {}, waitMs);
    if (!probe.replyLine) return undefined;
    const all = this.lines.slice(from).filter((l) => l.dir === 'rx');
    return {
      between: all.slice(
        0,
        all.findIndex((l) => l.line === probe.replyLine),
      ),
      probe,
    };
  }

  /** Wait a while and return what arrived meanwhile. */
  async idle(ms: number): Promise<WireLine[]> {
    const from = this.lines.length;
    await this.waitUntil(() => false, ms);
    return this.lines.slice(from).filter((l) => l.dir === 'rx');
  }

  detach(): void {
    this.stream.off('data', this.onData);
    this.close('the kit finished');
  }

  private waitUntil(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    if (this.closedReason) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = () => {
        if (!done() && !this.closedReason) return;
        finish(done());
      };
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.wake.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.wake.add(check);
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.rxBuffer += chunk.toString('latin1');
    for (;;) {
      const nl = this.rxBuffer.indexOf('\n');
      if (nl < 0) break;
      const raw = this.rxBuffer.slice(0, nl);
      this.rxBuffer = this.rxBuffer.slice(nl + 1);
      const entry: WireLine = { dir: 'rx', line: raw.endsWith('\r') ? raw.slice(0, -1) : raw, atMs: this.now };
      this.lines.push(entry);
      this.evidence.push(entry);
    }
    // A device that never ends its output with LF cannot grow the kit's memory without bound.
    if (this.rxBuffer.length > 4096) this.rxBuffer = this.rxBuffer.slice(-4096);
    for (const w of [...this.wake]) w();
  };

  private close(reason: string): void {
    this.closedReason ??= reason;
    for (const w of [...this.wake]) w();
  }
}
