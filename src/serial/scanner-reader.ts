// Line-based serial barcode scanners: bytes in, one clean read per label out. Strips the configured
// prefix/suffix and an AIM symbology identifier (`]C1`…), and reports the same label read again
// within the debounce window as a duplicate rather than a new scan (scanners repeat on a long press).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SerialPortStream } from '@serialport/stream';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import { splitAimPrefix } from './label-parser.ts';
import { type OpenPortOptions, openDevicePort } from './ports.ts';

/** Most scanners ship at 9600 baud 8N1. */
export const DEFAULT_SCANNER_BAUD_RATE = 9600;

export interface ScannerReaderOptions {
  /** Strip this from the start of each read, when present (a scanner-programmed prefix). */
  prefix?: string;
  /** Strip this from the end of each read, when present. */
  suffix?: string;
  /** Strip AIM symbology identifiers (default true). */
  stripAim?: boolean;
  /** The same text again within this window is a duplicate (default 1500 ms; 0 disables). */
  debounceMs?: number;
  /** Longest read in bytes; longer lines are dropped (default 1024). */
  maxLineBytes?: number;
  logger?: Logger;
  label?: string;
  /** Clock, for tests. */
  now?: () => number;
}

export interface ScanRead {
  /** The label's data, cleaned. */
  text: string;
  /** The line as received (without the terminator). */
  raw: string;
  symbology?: string;
  at: string;
}

export interface ScannerReaderEvents {
  scan: [read: ScanRead];
  duplicate: [read: ScanRead];
  close: [];
}

export class ScannerReader extends EventEmitter<ScannerReaderEvents> {
  private buffer = '';
  private last?: { text: string; at: number };
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: ScannerReaderOptions = {},
  ) {
    super();
    this.log = (opts.logger ?? silentLogger).child({ scanner: opts.label ?? 'scanner' });
    this.now = opts.now ?? Date.now;
    stream.on('data', this.onData);
    stream.on('error', (e: Error) => this.log.debug({ error: e.message }, 'scanner port error'));
    stream.once('close', () => this.emit('close'));
  }

  close(): void {
    this.stream.off('data', this.onData);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const max = this.opts.maxLineBytes ?? 1024;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    if (this.buffer.length > max) {
      this.log.warn({ bytes: this.buffer.length }, 'scanner line too long: dropped');
      this.buffer = '';
    }
    for (const line of lines) if (line.length > 0 && line.length <= max) this.onLine(line);
  };

  private onLine(raw: string): void {
    let text = raw;
    const { prefix, suffix } = this.opts;
    if (prefix && text.startsWith(prefix)) text = text.slice(prefix.length);
    if (suffix && text.endsWith(suffix)) text = text.slice(0, -suffix.length);
    let symbology: string | undefined;
    if (this.opts.stripAim !== false) ({ text, symbology } = splitAimPrefix(text));
    text = text.trim();
    if (!text) return;
    const now = this.now();
    const read: ScanRead = { text, raw, ...(symbology ? { symbology } : {}), at: new Date(now).toISOString() };
    const window = this.opts.debounceMs ?? 1500;
    if (this.last && this.last.text === text && now - this.last.at < window) {
      this.last.at = now;
      this.log.debug({ text }, 'duplicate scan ignored');
      this.emit('duplicate', read);
      return;
    }
    this.last = { text, at: now };
    this.log.debug({ text, symbology }, 'scan');
    this.emit('scan', read);
  }
}

/** Open a scanner's port (9600 baud unless configured) and read it. */
export async function openScannerReader(
  path: string,
  opts: ScannerReaderOptions & OpenPortOptions = {},
): Promise<{ reader: ScannerReader; port: SerialPortStream }> {
  const port = await openDevicePort(path, { baudRate: DEFAULT_SCANNER_BAUD_RATE, ...opts });
  return { reader: new ScannerReader(port, { label: path, ...opts }), port };
}
