// Group-committed device writes on PostgreSQL (credentials records, registrations): the requests that
// arrive while a batch forms (src/db/group-commit.ts, the one mechanism) are decided and written by one
// statement or transaction, so N requests cost one commit instead of N. Each batch holds a device at
// most once (a repeat goes to the next round, after the first is committed); a batch that fails for
// another reason than an unreachable database is re-run one request at a time, so one bad request
// (e.g. a serial already recorded, a realm at its registration limit) fails alone.
import { GroupCommit, type GroupCommitStats } from '../../db/group-commit.ts';
import { isUnavailable } from '../../db/postgres.ts';

export interface DeviceBatchJob<R, O> {
  /** realm \0 device id: jobs of one round have distinct keys. */
  key: string;
  r: R;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/** Requests a batch carries at most (bounds the statement's arrays and the row locks it holds). */
const MAX_BATCH = 256;

export class PgDeviceBatches<R extends { realm: string; deviceId: string }, O> {
  readonly #queue: GroupCommit<DeviceBatchJob<R, O>>;
  readonly #write: (jobs: DeviceBatchJob<R, O>[]) => Promise<O[]>;

  /** `write` decides and commits one batch, answering one outcome per job in order. */
  constructor(write: (jobs: DeviceBatchJob<R, O>[]) => Promise<O[]>) {
    this.#write = write;
    this.#queue = new GroupCommit((jobs) => this.#commit(jobs));
  }

  submit(r: R): Promise<O> {
    return new Promise((resolve, reject) => this.#queue.add({ key: `${r.realm}\u0000${r.deviceId}`, r, resolve, reject }));
  }

  stats(): GroupCommitStats {
    return this.#queue.stats();
  }

  drain(): Promise<void> {
    return this.#queue.drain();
  }

  async #commit(jobs: DeviceBatchJob<R, O>[]): Promise<void> {
    for (const round of distinctDeviceRounds(jobs))
      for (let i = 0; i < round.length; i += MAX_BATCH) await this.#run(round.slice(i, i + MAX_BATCH));
  }

  async #run(jobs: DeviceBatchJob<R, O>[]): Promise<void> {
    try {
      const outcomes = await this.#write(jobs);
      jobs.forEach((j, i) => {
        j.resolve(outcomes[i]);
      });
    } catch (e) {
      // An unreachable database fails them all; otherwise find the request that failed the batch: each alone.
      if (jobs.length === 1 || isUnavailable(e)) {
        for (const j of jobs) j.reject(e);
        return;
      }
      for (const j of jobs) await this.#run([j]);
    }
  }
}

/** The jobs in rounds where each device appears once, in arrival order (a repeat goes to a later round). */
function distinctDeviceRounds<J extends { key: string }>(jobs: J[]): J[][] {
  const rounds: J[][] = [];
  const seen: Set<string>[] = [];
  for (const j of jobs) {
    let n = 0;
    while (seen[n]?.has(j.key)) n++;
    if (!rounds[n]) {
      rounds[n] = [];
      seen[n] = new Set();
    }
    rounds[n].push(j);
    seen[n].add(j.key);
  }
  return rounds;
}
