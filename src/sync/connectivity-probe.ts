// Is the remote pairing core answering? GET /health with a short timeout, the answer cached briefly so
// that a line of devices asks once every few seconds, not once per device.

export interface ConnectivityProbeOptions {
  /** Base URL of the core (without /v1). */
  url: string;
  /** Per probe; default 1000 ms (a probe must never stall the line). */
  timeoutMs?: number;
  /** How long an answer is reused; default 2000 ms. */
  cacheMs?: number;
  now?: () => number;
}

export interface Connectivity {
  reachable: boolean;
  /** When it was last probed (ms since epoch). */
  checkedAt: number;
  /** Why not reachable, for the status line (never a secret: the URL's host and an error code). */
  reason?: string;
}

export class ConnectivityProbe {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #last: Connectivity | undefined;
  #inFlight: Promise<Connectivity> | undefined;

  constructor(opts: ConnectivityProbeOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs ?? 1000;
    this.#cacheMs = opts.cacheMs ?? 2000;
    this.#now = opts.now ?? Date.now;
  }

  /** The last answer, without probing (undefined before the first probe). */
  get last(): Connectivity | undefined {
    return this.#last;
  }

  /** Record what a real request just showed (saves a probe). */
  observe(reachable: boolean, reason?: string): void {
    this.#last = { reachable, checkedAt: this.#now(), reason: reachable ? undefined : reason };
  }

  /** Cached answer when fresh, else one probe (concurrent callers share it). */
  async check(opts: { fresh?: boolean } = {}): Promise<Connectivity> {
    const last = this.#last;
    if (!opts.fresh && last && this.#now() - last.checkedAt < this.#cacheMs) return last;
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<Connectivity> {
    let result: Connectivity;
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(this.#timeoutMs), redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
      result = res.ok
        ? { reachable: true, checkedAt: this.#now() }
        : { reachable: false, checkedAt: this.#now(), reason: `health answered ${res.status}` };
    } catch (e) {
      const timedOut = (e as Error)?.name === 'TimeoutError';
      const code = (e as { cause?: { code?: string } })?.cause?.code;
      result = {
        reachable: false,
        checkedAt: this.#now(),
        reason: timedOut ? `no answer within ${this.#timeoutMs} ms` : (code ?? 'network error'),
      };
    }
    this.#last = result;
    return result;
  }
}
