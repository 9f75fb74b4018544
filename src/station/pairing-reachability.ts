// Whether the remote pairing core answers, asked every 2 s while the station is open, so the status
// never says "reachable" about a core that has gone, or about a dead URL just saved. The check
// itself is the application's (src/api/pairing-policy.ts: GET /health with a short timeout); the
// station only schedules it and tells the status.

export interface Reachability {
  reachable: boolean;
  /** Why not (an error code or an HTTP status; never a secret). */
  reason?: string;
}

export type ReachabilityCheck = () => Promise<Reachability>;

/** Builds the check for a core's URL (assembled with the application, like the offline policy). */
export type ReachabilityCheckFactory = (url: string) => ReachabilityCheck;

/** A check gives up after this long (the factory's timeout), and the next one starts this long after an answer: the status is at most 2 s old. */
export const REACHABILITY_TIMEOUT_MS = 1000;
export const REACHABILITY_PAUSE_MS = 1000;

export class ReachabilityWatch {
  readonly #check: ReachabilityCheck;
  readonly #everyMs: number;
  readonly #onResult: (r: Reachability) => void;
  #timer?: NodeJS.Timeout;
  #inFlight?: Promise<Reachability>;
  #stopped = false;

  constructor(opts: { check: ReachabilityCheck; everyMs?: number; onResult: (r: Reachability) => void }) {
    this.#check = opts.check;
    this.#everyMs = opts.everyMs ?? REACHABILITY_PAUSE_MS;
    this.#onResult = opts.onResult;
  }

  /** Check now (a caller joining a check in flight shares it), then every period after the answer. */
  checkNow(): Promise<Reachability> {
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #run(): Promise<Reachability> {
    clearTimeout(this.#timer);
    let r: Reachability;
    try {
      r = await this.#check();
    } catch (e) {
      r = { reachable: false, reason: (e as Error).message };
    }
    if (this.#stopped) return r;
    this.#onResult(r);
    // Timed from the answer: a slow core is never asked twice at once.
    this.#timer = setTimeout(() => void this.checkNow(), this.#everyMs);
    this.#timer.unref();
    return r;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
