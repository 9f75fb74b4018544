// One gate for the whole line. Every station-side step of the workflow (an audit commit, the
// write-ahead record, the registry, a registration) runs through guard(). When a step fails with a
// fault of the station itself (line-faults.ts) the line pauses, once, with that fault, and the step
// waits where it is, its device untouched in the fixture; other steps of the fault's kind wait
// before they start, and no fixture takes a new device. After a backoff (1 s doubling to 10 s) one
// waiting step is retried; when it succeeds the line resumes and every waiting step goes on. A
// step counts as done only once it has succeeded, so a pause loses nothing and fails no device.
import { catalogueMessage, ImprintError } from '../common/errors.ts';
import {
  type FaultScope,
  LINE_FAULTS,
  type LineFault,
  type LineFaultCode,
  lineFaultOf,
  type StationStep,
} from './line-faults.ts';
import { STATION_ERRORS } from './station-errors.ts';

/** The step could not run: the station was stopped while paused, or does not wait (one-shot commands). */
export class LineInterrupted extends ImprintError<'LINE_INTERRUPTED'> {
  readonly fault?: LineFault;

  constructor(fault: LineFault | undefined) {
    const entry = fault ? LINE_FAULTS[fault.code] : STATION_ERRORS.LINE_INTERRUPTED;
    super('LINE_INTERRUPTED', catalogueMessage(entry, fault?.detail), { hint: entry.action });
    this.name = 'LineInterrupted';
    this.fault = fault;
  }
}

export interface ActivePause {
  fault: LineFault;
  since: Date;
  /** Retries that failed since the pause began. */
  retries: number;
  nextRetryAt?: Date;
}

export type LineChange = 'paused' | 'retry-failed' | 'resumed' | 'stopped';

export interface LineGateOptions {
  /** Pause and retry after a fault (a running line, the default); false: throw LineInterrupted at once. */
  wait?: boolean;
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** Told when the line pauses, when a retry fails, when it resumes and when it is stopped while paused. */
  onChange?: (change: LineChange, pause: ActivePause) => void;
  /**
   * `deferred` pairing: while only the pairing core is away, fixtures keep taking devices; each is
   * identified and parked at its registration, nothing written to it, until the core answers.
   */
  parkOnPairing?: boolean;
}

interface Waiter {
  scope: FaultScope;
  failedWith?: LineFaultCode;
  /** true: this waiter is the retry; false: the line resumed. */
  resolve: (isRetry: boolean) => void;
  reject: (e: Error) => void;
}

const scopeOf = (step: StationStep): FaultScope => (step === 'pairing' ? 'pairing' : 'storage');

export class LineGate {
  readonly #wait: boolean;
  readonly #firstMs: number;
  readonly #maxMs: number;
  readonly #onChange?: LineGateOptions['onChange'];
  readonly #parkOnPairing: boolean;
  #pause?: ActivePause;
  #delay: number;
  #timer?: NodeJS.Timeout;
  #retryDue = false;
  #stopped = false;
  #waiters: Waiter[] = [];
  #idle = new Set<() => void>();
  #pausedBefore = 0;

  constructor(opts: LineGateOptions = {}) {
    this.#wait = opts.wait ?? true;
    this.#firstMs = opts.firstRetryMs ?? 1000;
    this.#maxMs = opts.maxRetryMs ?? 10_000;
    this.#delay = this.#firstMs;
    this.#onChange = opts.onChange;
    this.#parkOnPairing = opts.parkOnPairing ?? false;
  }

  /** The pause in force, if any. */
  get pause(): ActivePause | undefined {
    return this.#pause;
  }

  /** True while devices are parked: a `deferred` line whose only fault is the pairing core. */
  get parking(): boolean {
    return this.#parkOnPairing && this.#pause?.fault.scope === 'pairing';
  }

  /** Milliseconds the line has spent paused so far (steps subtract it from their timings). */
  get pausedMs(): number {
    return this.#pausedBefore + (this.#pause ? Date.now() - this.#pause.since.getTime() : 0);
  }

  /**
   * Run a station-side step. A station fault pauses the line and the step is retried after the
   * line resumes (or throws LineInterrupted when the gate does not wait or the line is stopped).
   * Any other error is the step's own and is thrown as is.
   */
  async guard<T>(step: StationStep, op: () => T | Promise<T>): Promise<T> {
    const scope = scopeOf(step);
    let failedWith: LineFaultCode | undefined;
    let isRetry = false;
    for (;;) {
      if (!isRetry && this.#blocks(scope)) isRetry = await this.#queue(scope, failedWith);
      let value: T;
      try {
        value = await op();
      } catch (e) {
        const fault = lineFaultOf(e, step);
        // An answer that is not a station fault (a device refused by the core…) proves the station works again.
        if (!fault) {
          if (isRetry) this.#resume();
          throw e;
        }
        if (!this.#wait || this.#stopped) throw new LineInterrupted(fault);
        this.#paused(fault, isRetry);
        failedWith = fault.code;
        isRetry = false;
        continue;
      }
      if (isRetry) this.#resume();
      return value;
    }
  }

  /** Resolves when the line is not paused (or `signal` aborts): fixtures wait here before taking a device. */
  whenOpen(signal: AbortSignal): Promise<void> {
    if (!this.#pause || signal.aborted || this.parking) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#idle.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#idle.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Retry now instead of at the next backoff (the operator pressed Start line while paused). */
  retryNow(): void {
    if (!this.#pause) return;
    clearTimeout(this.#timer);
    this.#fireRetry();
  }

  /** The line stops: steps waiting in a pause end with LineInterrupted; faults from now on do not wait. */
  stop(): void {
    this.#stopped = true;
    const pause = this.#pause;
    if (!pause) return;
    const err = new LineInterrupted(pause.fault);
    for (const w of this.#waiters.splice(0)) w.reject(err);
    for (const done of [...this.#idle]) done();
    this.#clear();
    this.#onChange?.('stopped', pause);
  }

  /** The line starts again (after stop()). */
  restart(): void {
    this.#stopped = false;
  }

  #blocks(scope: FaultScope): boolean {
    const p = this.#pause;
    if (!p) return false;
    if (this.#stopped) throw new LineInterrupted(p.fault);
    return p.fault.scope === 'storage' || p.fault.scope === scope;
  }

  #queue(scope: FaultScope, failedWith: LineFaultCode | undefined): Promise<boolean> {
    if (this.#retryDue && this.#eligible({ scope, failedWith })) {
      this.#retryDue = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve, reject) => {
      // Steps that already hit the fault are retried first: they test exactly what failed.
      const w: Waiter = { scope, failedWith, resolve, reject };
      if (failedWith) this.#waiters.unshift(w);
      else this.#waiters.push(w);
    });
  }

  #eligible(w: Pick<Waiter, 'scope' | 'failedWith'>): boolean {
    const p = this.#pause!;
    return w.failedWith === p.fault.code || w.scope === p.fault.scope;
  }

  #paused(fault: LineFault, afterRetry: boolean): void {
    const p = this.#pause;
    if (!p) {
      this.#pause = { fault, since: new Date(), retries: 0 };
      this.#delay = this.#firstMs;
      this.#schedule();
      this.#onChange?.('paused', this.#pause);
      return;
    }
    // A storage fault is the wider one (it blocks every step): it takes over a pairing pause.
    const wider = fault.scope === 'storage' && p.fault.scope === 'pairing';
    if (!afterRetry && !wider) return; // a step already under way when the line paused: it waits too
    p.fault = fault;
    if (afterRetry) {
      p.retries++;
      this.#delay = Math.min(this.#delay * 2, this.#maxMs);
    }
    this.#schedule();
    this.#onChange?.('retry-failed', p);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#pause!.nextRetryAt = new Date(Date.now() + this.#delay);
    // Not unref'd: while paused, this timer is what keeps a headless run alive to retry.
    this.#timer = setTimeout(() => this.#fireRetry(), this.#delay);
  }

  #fireRetry(): void {
    if (!this.#pause) return;
    this.#pause.nextRetryAt = undefined;
    const code = this.#pause.fault.code;
    let i = this.#waiters.findIndex((w) => w.failedWith === code);
    if (i < 0) i = this.#waiters.findIndex((w) => this.#eligible(w));
    if (i < 0) {
      this.#retryDue = true; // the next step of the fault's kind to arrive is the retry
      return;
    }
    const [w] = this.#waiters.splice(i, 1);
    w.resolve(true);
  }

  #resume(): void {
    const pause = this.#pause;
    if (!pause) return;
    this.#clear();
    for (const w of this.#waiters.splice(0)) w.resolve(false);
    for (const done of [...this.#idle]) done();
    this.#onChange?.('resumed', pause);
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pause) this.#pausedBefore += Date.now() - this.#pause.since.getTime();
    this.#pause = undefined;
    this.#retryDue = false;
    this.#delay = this.#firstMs;
  }
}
