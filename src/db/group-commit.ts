// Group commit, the one mechanism for every durable queue in Imprint: jobs added while a batch forms
// are handed to `commit` together, so N acknowledged writes cost one fsync (SQLite) or one commit
// round (PostgreSQL). A batch forms from the first job until an event-loop turn passes in which no
// new job arrived, or it has waited as long as the previous commit took (at most `maxWaitMs`): a
// burst commits at once, and writes that arrive one by one (e.g. after signing on the thread pool)
// still share a commit. With an async `commit`, jobs that arrive while it runs form the next batch.
// While writes keep coming (the previous commit ended moments ago) a batch also waits, on a timer, for
// the writes of requests still on their way: one device per connection reaches the store a few turns
// apart, and a synchronous commit (SQLite's fsync) blocks the loop, so otherwise each commits alone.

export interface GroupCommitStats {
  /** Commits made (one fsync or commit round each). */
  batches: number;
  /** Jobs those commits carried (writes / batches = the grouping achieved). */
  writes: number;
}

export interface GroupCommitOptions {
  /** Upper bound on how long a forming batch waits for companions (a slow disk must not add more latency). */
  maxWaitMs?: number;
}

/** A batch this small, formed while writes keep coming, waits for companions (see above). */
const SMALL_BATCH = 32;

/**
 * `commit` receives every job of a batch and settles each one (it must not throw: a commit that
 * fails rejects its jobs itself).
 */
export class GroupCommit<J> {
  readonly #commit: (jobs: J[]) => void | Promise<void>;
  readonly #maxWaitMs: number;
  #queue: J[] = [];
  #state: 'idle' | 'forming' | 'committing' = 'idle';
  #generation = 0;
  #formingSince = 0;
  #seen = 0;
  #lastCommitMs = 0;
  #lastCommitEnd = Number.NEGATIVE_INFINITY;
  #stats: GroupCommitStats = { batches: 0, writes: 0 };
  #idleWaiters: (() => void)[] = [];

  constructor(commit: (jobs: J[]) => void | Promise<void>, opts: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxWaitMs = opts.maxWaitMs ?? 5;
  }

  add(job: J): void {
    this.#queue.push(job);
    if (this.#state === 'idle') this.#form();
  }

  /** Commits what is queued, now (for a synchronous `commit`: close, or a read that must see every write). */
  flushNow(): void {
    if (this.#state !== 'committing' && this.#queue.length > 0) this.#run();
  }

  /** Resolves once every job added so far is committed. */
  drain(): Promise<void> {
    if (this.#state === 'idle' && this.#queue.length === 0) return Promise.resolve();
    return new Promise((done) => this.#idleWaiters.push(done));
  }

  stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  #form(): void {
    this.#state = 'forming';
    this.#formingSince = performance.now();
    this.#seen = this.#queue.length;
    const generation = ++this.#generation;
    // Methods and arrows passed as arguments, not named closures: tsx names those with
    // Object.defineProperty each time they are made (twice per commit).
    setImmediate(() => this.#tick(generation));
  }

  #tick(generation: number): void {
    if (generation !== this.#generation || this.#state !== 'forming') return;
    const grew = this.#queue.length > this.#seen;
    this.#seen = this.#queue.length;
    const now = performance.now();
    const window = Math.min(this.#lastCommitMs, this.#maxWaitMs);
    if (grew && now - this.#formingSince < window) {
      setImmediate(() => this.#tick(generation));
      return;
    }
    // A steady stream of small batches: wait out the window on a timer (the loop serves other requests
    // meanwhile, no spinning). A burst (or an idle writer's first write) commits at once.
    const streaming = this.#formingSince - this.#lastCommitEnd < 2 * this.#maxWaitMs;
    if (!grew && streaming && this.#queue.length < SMALL_BATCH && now - this.#formingSince < window) {
      setTimeout(
        () => {
          if (generation === this.#generation && this.#state === 'forming') this.#run();
        },
        window - (now - this.#formingSince),
      );
      return;
    }
    this.#run();
  }

  #run(): void {
    const jobs = this.#queue;
    this.#queue = [];
    this.#state = 'committing';
    this.#generation++;
    const start = performance.now();
    const done = this.#after.bind(this, start, jobs.length);
    let pending: void | Promise<void>;
    try {
      pending = this.#commit(jobs);
    } catch {
      // A commit function that throws broke its contract; the queue itself must keep going.
      pending = undefined;
    }
    if (pending instanceof Promise) pending.then(done, done);
    else done();
  }

  #after(start: number, jobs: number): void {
    this.#lastCommitEnd = performance.now();
    this.#lastCommitMs = this.#lastCommitEnd - start;
    this.#stats.batches++;
    this.#stats.writes += jobs;
    if (this.#queue.length > 0) {
      this.#form();
      return;
    }
    this.#state = 'idle';
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
