// Request/response over a framed line protocol on any Duplex stream: one request in flight at a
// time, replies matched by sequence number, per-attempt timeouts, retries with the SAME sequence
// number (the device answers a repeated sequence number from its reply cache, so a retry never
// executes a command twice), and every frame logged at debug level with secrets redacted.
import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import { DeviceError } from './device-error.ts';
import { type DecodeResult, encodeFrame, type Frame, FrameDecoder, redactLine } from './frame-codec.ts';

export interface FramedLinkOptions {
  /** Wait for a reply this long per attempt (default 500 ms). */
  timeoutMs?: number;
  /** Retransmissions after the first attempt (default 3). */
  retries?: number;
  logger?: Logger;
  /** Names the port in logs, e.g. the path. */
  label?: string;
}

interface Pending {
  frame: Frame;
  line: string;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  lastProblem?: string;
  resolve(reply: Frame): void;
  reject(e: unknown): void;
}

export interface LinkStats {
  requests: number;
  retransmissions: number;
  discarded: number;
  bytesOut: number;
  bytesIn: number;
}

export class FramedLink {
  private readonly decoder = new FrameDecoder();
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private seq = randomInt(1, 0xffff);
  private pending?: Pending;
  private queue: Promise<unknown> = Promise.resolve();
  private closedReason?: string;
  readonly stats: LinkStats = { requests: 0, retransmissions: 0, discarded: 0, bytesOut: 0, bytesIn: 0 };

  constructor(
    private readonly stream: Duplex,
    opts: FramedLinkOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.retries = opts.retries ?? 3;
    this.log = (opts.logger ?? silentLogger).child({ port: opts.label ?? 'device' });
    stream.on('data', this.onData);
    stream.on('close', () => this.shutdown('port closed'));
    stream.on('end', () => this.shutdown('port ended'));
    stream.on('error', (e: Error) => this.shutdown(`port error: ${e.message}`));
    if (stream.destroyed) this.shutdown('port already closed');
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  /**
   * Send a command and resolve with the matching reply frame (OK or ERR). Requests are queued so
   * exactly one is in flight. Rejects with DeviceError TIMEOUT or DISCONNECTED.
   */
  request(verb: string, args: Record<string, string> = {}, opts: { timeoutMs?: number } = {}): Promise<Frame> {
    const run = () => this.send(verb, args, opts.timeoutMs ?? this.timeoutMs);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Stop using the stream (does not close it: the owner of the port does). */
  detach(): void {
    this.stream.off('data', this.onData);
    this.shutdown('link closed');
  }

  private send(verb: string, args: Record<string, string>, timeoutMs: number): Promise<Frame> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new DeviceError('DISCONNECTED', this.closedReason));
    }
    this.seq = this.seq >= 0xffff ? 1 : this.seq + 1;
    const frame: Frame = { dir: '>', seq: this.seq, verb, args };
    const line = encodeFrame(frame);
    this.stats.requests++;
    return new Promise<Frame>((resolve, reject) => {
      this.pending = { frame, line, attempts: 0, maxAttempts: this.retries + 1, timeoutMs, resolve, reject };
      this.transmit();
    });
  }

  private transmit(): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    if (p.attempts >= p.maxAttempts) {
      this.pending = undefined;
      p.reject(
        new DeviceError('TIMEOUT', `no valid reply to ${p.frame.verb} after ${p.attempts} attempts`, {
          details: { command: p.frame.verb, attempts: p.attempts, lastProblem: p.lastProblem ?? 'no reply' },
        }),
      );
      return;
    }
    if (p.attempts > 0) this.stats.retransmissions++;
    p.attempts++;
    // Redacting a frame costs more than sending it: only when debug lines are written.
    if (this.log.isLevelEnabled('debug')) this.log.debug({ frame: redactLine(p.line), attempt: p.attempts }, 'tx');
    this.stats.bytesOut += p.line.length;
    this.stream.write(p.line, 'latin1', (e) => {
      if (e) this.shutdown(`write failed: ${e.message}`);
    });
    p.timer = setTimeout(() => {
      p.lastProblem ??= 'no reply';
      this.log.debug({ seq: p.frame.seq, attempt: p.attempts }, 'reply timeout');
      this.transmit();
    }, p.timeoutMs);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.stats.bytesIn += chunk.length;
    for (const r of this.decoder.push(chunk)) this.onResult(r);
  };

  private onResult(r: DecodeResult): void {
    const p = this.pending;
    if (r.kind !== 'frame') {
      // Garbage, a corrupted frame or console output: never a reply. The timeout will retry.
      this.stats.discarded++;
      if (this.log.isLevelEnabled('debug'))
        this.log.debug({ line: redactLine(r.line), problem: r.kind === 'error' ? r.code : 'noise' }, 'rx discarded');
      if (p && r.kind === 'error') {
        p.lastProblem = `corrupted reply (${r.code})`;
        // Our reply arrived damaged: ask again now (same seq, answered from the device's cache).
        if (r.seq === p.frame.seq) this.transmit();
      }
      return;
    }
    const f = r.frame;
    if (f.dir !== '<' || !p || f.seq !== p.frame.seq) {
      this.stats.discarded++;
      if (this.log.isLevelEnabled('debug'))
        this.log.debug({ line: redactLine(r.line), expectedSeq: p?.frame.seq }, 'rx discarded: not the reply awaited');
      return;
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ frame: redactLine(r.line) }, 'rx');
    if (f.verb === 'ERR' && (f.args.code === 'BAD_CRC' || f.args.code === 'BAD_FRAME')) {
      // The device saw our request damaged: send it again now rather than waiting.
      p.lastProblem = `device received a damaged request (${f.args.code})`;
      this.transmit();
      return;
    }
    clearTimeout(p.timer);
    this.pending = undefined;
    p.resolve(f);
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.log.debug({ reason }, 'link down');
    const p = this.pending;
    if (p) {
      clearTimeout(p.timer);
      this.pending = undefined;
      p.reject(new DeviceError('DISCONNECTED', `during ${p.frame.verb}: ${reason}`));
    }
  }
}
