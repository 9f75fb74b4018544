// A port that comes back: opens a path, notices when it goes away (unplug, PTY gone), and reopens
// it with exponential backoff until stopped. Consumers listen for 'open' and build a fresh client
// (or scanner reader) on each new stream; requests in flight on the old one fail DISCONNECTED.
import { EventEmitter } from 'node:events';
import type { SerialPortStream } from '@serialport/stream';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import { DeviceError } from './device-error.ts';
import { closePort, type OpenPortOptions, openDevicePort } from './ports.ts';

export type PortState = 'connecting' | 'open' | 'waiting' | 'stopped';

export interface ReconnectOptions extends OpenPortOptions {
  /** First retry delay (default 200 ms), doubled per failure up to maxDelayMs (default 5000 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface ReconnectingPortEvents {
  state: [state: PortState, detail?: { error?: DeviceError; attempt?: number }];
  open: [port: SerialPortStream];
  close: [];
}

export class ReconnectingPort extends EventEmitter<ReconnectingPortEvents> {
  private _state: PortState = 'stopped';
  private port?: SerialPortStream;
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private lastError?: DeviceError;
  private readonly log: Logger;

  constructor(
    readonly path: string,
    private readonly opts: ReconnectOptions = {},
  ) {
    super();
    this.log = (opts.logger ?? silentLogger).child({ port: path });
  }

  get state(): PortState {
    return this._state;
  }

  get current(): SerialPortStream | undefined {
    return this.port;
  }

  start(): void {
    if (this._state !== 'stopped') return;
    this.failures = 0;
    void this.connect();
  }

  /** Resolve with the open port, waiting up to timeoutMs for it (starting the port if needed). */
  async waitOpen(timeoutMs: number): Promise<SerialPortStream> {
    this.start();
    if (this.port) return this.port;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('open', onOpen);
        reject(this.lastError ?? new DeviceError('PORT_ERROR', `${this.path} did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      const onOpen = (port: SerialPortStream) => {
        clearTimeout(timer);
        resolve(port);
      };
      this.once('open', onOpen);
    });
  }

  async stop(): Promise<void> {
    this.setState('stopped');
    clearTimeout(this.timer);
    const port = this.port;
    this.port = undefined;
    if (port) await closePort(port);
  }

  private async connect(): Promise<void> {
    this.setState('connecting', { attempt: this.failures + 1 });
    try {
      const port = await openDevicePort(this.path, this.opts);
      if (this._state === 'stopped') {
        await closePort(port);
        return;
      }
      this.failures = 0;
      this.lastError = undefined;
      this.port = port;
      port.once('close', () => this.onClose(port));
      // A read or write error means the line is unusable: close it, and the reconnect loop takes over.
      port.on('error', (e) => {
        this.log.info({ error: e.message }, 'port error');
        if (port.isOpen) port.close(() => undefined);
      });
      this.setState('open');
      this.emit('open', port);
    } catch (e) {
      this.lastError = e as DeviceError;
      this.scheduleRetry(e as DeviceError);
    }
  }

  private onClose(port: SerialPortStream): void {
    if (this.port !== port) return;
    this.port = undefined;
    this.log.info('port closed');
    this.emit('close');
    if (this._state !== 'stopped') this.scheduleRetry();
  }

  private scheduleRetry(error?: DeviceError): void {
    if (this._state === 'stopped') return;
    const initial = this.opts.initialDelayMs ?? 200;
    const delay = Math.min(initial * 2 ** this.failures, this.opts.maxDelayMs ?? 5000);
    this.failures++;
    this.setState('waiting', { error, attempt: this.failures });
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private setState(state: PortState, detail?: { error?: DeviceError; attempt?: number }): void {
    this._state = state;
    this.log.debug({ state, attempt: detail?.attempt, error: detail?.error?.message }, 'port state');
    this.emit('state', state, detail);
  }
}
