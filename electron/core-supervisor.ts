// The station core as a supervised child of the shell. When it exits (killed, crashed, its data
// unreadable) the window stays: the page shows STATION OFFLINE with the reason, and the core is
// started again after 1 s, doubling to 10 s, until it answers; then the page recovers by itself.
// The renderer always talks to one StationApi: calls reach the current core or fail at once with
// STATION_OFFLINE, and event subscriptions move over to each new core.
import type { ChildProcess } from 'node:child_process';
import type { StationApi, StationEvent } from '../src/api/station-api.ts';
import { STATION_METHODS } from './ipc-channels.ts';

export interface CoreReady {
  url: string;
  token: string;
}

export interface SupervisorOptions {
  /** Start one core child (with an IPC channel). */
  spawn: () => ChildProcess;
  /** A client for a core that said it is ready. */
  connect: (ready: CoreReady) => StationApi;
  /** Other messages from the child (keychain requests). */
  onMessage?: (child: ChildProcess, message: unknown) => void;
  log?: (line: string) => void;
  /** Wait before restart number `attempt` (1, 2, …). Default 1 s doubling to 10 s. */
  restartDelayMs?: (attempt: number) => number;
  /** A core that ran this long was healthy: the next restart waits the shortest again. */
  healthyAfterMs?: number;
}

export const defaultRestartDelay = (attempt: number): number => Math.min(10_000, 1000 * 2 ** (attempt - 1));

/** An error the page reads as "the station is gone", with why. */
export class StationOffline extends Error {
  readonly code = 'STATION_OFFLINE';
  readonly hint = 'The desktop app restarts the station by itself.';
}

export class CoreSupervisor {
  private child?: ChildProcess;
  private client?: StationApi;
  private readonly listeners = new Set<(event: StationEvent) => void>();
  private unsubscribe?: () => void;
  private attempts = 0;
  private restartTimer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private why = 'The station is starting.';
  /** The StationApi the IPC handlers serve, whichever core is current. */
  readonly api: StationApi;

  constructor(private readonly opts: SupervisorOptions) {
    const api: Record<string, unknown> = {};
    for (const method of STATION_METHODS) {
      api[method] = (...args: unknown[]) => {
        const client = this.client;
        if (!client) return Promise.reject(new StationOffline(this.why));
        return (client[method] as (...a: unknown[]) => Promise<unknown>).apply(client, args);
      };
    }
    api.subscribe = (listener: (event: StationEvent) => void) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    };
    this.api = api as unknown as StationApi;
  }

  get running(): boolean {
    return this.client !== undefined;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const started = Date.now();
    const child = this.opts.spawn();
    this.child = child;
    child.on('message', (m: unknown) => {
      const msg = m as { type?: string; url?: string; token?: string };
      if (msg?.type === 'ready' && typeof msg.url === 'string' && typeof msg.token === 'string') {
        this.attach(this.opts.connect({ url: msg.url, token: msg.token }));
      } else this.opts.onMessage?.(child, m);
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.detach();
      if (this.stopped) return;
      if (Date.now() - started >= (this.opts.healthyAfterMs ?? 30_000)) this.attempts = 0;
      this.attempts++;
      const delay = (this.opts.restartDelayMs ?? defaultRestartDelay)(this.attempts);
      this.why = `${why} Restarting it (try ${this.attempts}).`;
      this.opts.log?.(`imprint: ${why} Restarting it in ${delay / 1000} s.`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.start();
      }, delay);
    };
    child.on('exit', (code, signal) => gone(`The station process exited (${signal ? `signal ${signal}` : `code ${code}`}).`));
    child.on('error', (e) => gone(`The station process could not run (${e.message}).`));
  }

  /** On quit: no restart, and the core is asked to stop. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.detach();
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  private attach(client: StationApi): void {
    this.detach();
    this.client = client;
    // The core sends a fresh status first on every stream: the page never shows stale state.
    this.unsubscribe = client.subscribe((event) => {
      for (const l of this.listeners) l(event);
    });
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.client = undefined;
  }
}
