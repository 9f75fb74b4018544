// Device reads on PostgreSQL, grouped: every device API request (info, credentials, verify) first
// reads its device to check the secret, one primary-key query each. With many requests in flight the
// query's fixed cost (protocol round, parse, executor start: ~70–100 µs of client CPU and ~50 µs of
// PostgreSQL CPU here) was most of the work, so the reads that arrive together go in one query. The
// batching is the group-commit queue's (src/db/group-commit.ts): a read waits at most for the batch
// in flight, and one that starts after a write was acknowledged sees that write.
import { GroupCommit } from '../../db/group-commit.ts';
import { isUnavailable, type Sql } from '../../db/postgres.ts';
import type { DeviceRow } from '../pairing-store.ts';
import { type DeviceDbRow, toDevice } from './rows.ts';

interface Job {
  realm: string;
  deviceId: string;
  resolve: (d: DeviceRow | undefined) => void;
  reject: (e: unknown) => void;
}

/** Keys a query carries at most. */
const MAX_BATCH = 512;

export class PgDeviceReader {
  readonly #sql: Sql;
  readonly #queue: GroupCommit<Job>;

  constructor(sql: Sql) {
    this.#sql = sql;
    this.#queue = new GroupCommit((jobs) => this.#read(jobs));
  }

  get(realm: string, deviceId: string): Promise<DeviceRow | undefined> {
    return new Promise((resolve, reject) => this.#queue.add({ realm, deviceId, resolve, reject }));
  }

  drain(): Promise<void> {
    return this.#queue.drain();
  }

  async #read(jobs: Job[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += MAX_BATCH) await this.#query(jobs.slice(i, i + MAX_BATCH));
  }

  async #query(jobs: Job[]): Promise<void> {
    try {
      const rows = await this.#sql<(DeviceDbRow & { i: number })[]>`
        SELECT d.*, t.i::int AS i
        FROM unnest(${jobs.map((j) => j.realm)}::text[], ${jobs.map((j) => j.deviceId)}::text[]) WITH ORDINALITY AS t(realm, device_id, i)
        JOIN devices d USING (realm, device_id)`;
      const found: (DeviceRow | undefined)[] = new Array(jobs.length);
      for (const { i, ...row } of rows) found[i - 1] = toDevice(row as DeviceDbRow);
      jobs.forEach((j, n) => {
        j.resolve(found[n]);
      });
    } catch (e) {
      // Not the database's absence: a value one key carries (e.g. bytes PostgreSQL refuses in text) fails alone.
      if (jobs.length === 1 || isUnavailable(e)) for (const j of jobs) j.reject(e);
      else for (const j of jobs) await this.#query([j]);
    }
  }
}
