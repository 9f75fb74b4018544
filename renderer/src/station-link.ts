// Is the station there? The UI must know within 3 s when the station process or its event stream
// is gone, say so once, keep retrying by itself and recover without a reload. Two signals: the
// event stream (web mode: the EventSource opens, errors, delivers) and a status probe whenever the
// stream has been quiet. No DOM here, so the timing rules are unit-tested with mocked timers.

export const LIVENESS = {
  /**
   * Every tick, ask for the status unless something was heard within the tick (the stream's own
   * keep-alive comes every 15 s only).
   */
  probeEveryMs: 500,
  /** A status call that takes longer counts as no answer (a hung station). */
  probeTimeoutMs: 1500,
  /** An event stream down this long means live updates are lost, even if calls still answer. */
  streamGraceMs: 2000,
} as const;

/**
 * The longest a dead or hung station goes unnoticed: it may fall silent just after it was heard, so
 * one tick is skipped, the next asks, and that probe times out.
 */
export const WORST_CASE_DETECTION_MS = 2 * LIVENESS.probeEveryMs + LIVENESS.probeTimeoutMs;

export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'online' }
  /** `retries`: probes that failed since the station went away (it keeps trying every second). */
  | { kind: 'offline'; since: number; reason: string; retries: number }
  /** The station answers but refuses this page's session token. */
  | { kind: 'refused'; reason: string };

type Probe = () => Promise<unknown>;

const NO_ANSWER = Symbol('no answer');

/** HTTP 401 from web mode (a new session token after a restart), carried by StationApiError. */
function isRefusedToken(e: unknown): boolean {
  const err = e as { status?: number; code?: string };
  return err?.status === 401 || err?.code === 'UNAUTHORIZED';
}

function offlineReason(e: unknown): string {
  if (e === NO_ANSWER) return `The station does not answer (no reply within ${LIVENESS.probeTimeoutMs / 1000} s).`;
  const err = e as { name?: string; message?: string };
  // fetch() could not connect: nothing listens on the station's port any more.
  if (!err?.message || err.name === 'TypeError') return 'The station cannot be reached: its process is not running.';
  // The station answered with an error, or the desktop shell says why (the process exited, its code).
  return err.message;
}

export class StationLink {
  private current: LinkState = { kind: 'connecting' };
  private readonly listeners = new Set<(s: LinkState) => void>();
  private readonly recoveries = new Set<() => void>();
  private lastHeard = 0;
  /** undefined: this transport tells nothing about its stream (Electron relays it from main). */
  private streamUp: boolean | undefined;
  private streamDownSince = 0;
  private probing = false;
  private timer?: ReturnType<typeof setInterval>;
  private probe?: Probe;

  get state(): LinkState {
    return this.current;
  }

  /** Start watching: `probe` is a cheap call to the station (its status). */
  start(probe: Probe): void {
    this.probe = probe;
    this.stop();
    this.timer = setInterval(() => this.tick(), LIVENESS.probeEveryMs);
    void this.runProbe();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  onChange(listener: (s: LinkState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once each time the station comes back after being offline or refused. */
  onRecovered(listener: () => void): () => void {
    this.recoveries.add(listener);
    return () => this.recoveries.delete(listener);
  }

  // ── what the event stream reports (web mode) ──────────────────────────────────────────────

  streamOpened(): void {
    this.streamUp = true;
    this.heard();
  }

  streamMessage(): void {
    this.streamUp = true;
    this.heard();
  }

  streamFailed(): void {
    if (this.streamUp !== false) this.streamDownSince = Date.now();
    this.streamUp = false;
    // A stream that drops is the first sign of a killed station: ask at once.
    void this.runProbe();
  }

  // ── the rules ─────────────────────────────────────────────────────────────────────────────

  private heard(): void {
    this.lastHeard = Date.now();
    if (this.streamUp !== false) this.set({ kind: 'online' });
  }

  private tick(): void {
    const quiet = Date.now() - this.lastHeard >= LIVENESS.probeEveryMs;
    if (quiet || this.current.kind !== 'online' || this.streamUp === false) void this.runProbe();
  }

  private async runProbe(): Promise<void> {
    if (this.probing || !this.probe) return;
    this.probing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(NO_ANSWER), LIVENESS.probeTimeoutMs);
        }),
      ]);
      this.lastHeard = Date.now();
      if (this.streamUp === false) {
        // The station answers but its stream is still down: within the grace it is reconnecting.
        if (Date.now() - this.streamDownSince >= LIVENESS.streamGraceMs)
          this.goOffline('The live event stream from the station is lost.');
      } else this.set({ kind: 'online' });
    } catch (e) {
      if (isRefusedToken(e)) {
        this.set({
          kind: 'refused',
          reason:
            'The station refused this page’s session token: its token was replaced (imprint web --new-token), or it runs on another data folder.',
        });
      } else this.goOffline(offlineReason(e));
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  private goOffline(reason: string): void {
    const prev = this.current;
    if (prev.kind === 'offline') this.set({ ...prev, reason, retries: prev.retries + 1 });
    else this.set({ kind: 'offline', since: Date.now(), reason, retries: 0 });
  }

  private set(next: LinkState): void {
    const prev = this.current;
    if (JSON.stringify(prev) === JSON.stringify(next)) return;
    this.current = next;
    for (const l of this.listeners) l(next);
    if (next.kind === 'online' && (prev.kind === 'offline' || prev.kind === 'refused')) {
      for (const r of this.recoveries) r();
    }
  }
}
