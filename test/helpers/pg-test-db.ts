// A fresh PostgreSQL schema per test (created and dropped with the imprint role), on the server of
// IMPRINT_TEST_PG_URL. A test that needs PostgreSQL fails, never skips, when none is reachable.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export const TEST_PG_URL = process.env.IMPRINT_TEST_PG_URL ?? 'postgres://imprint:imprint@127.0.0.1:5432/imprint_test';

export interface TestSchema {
  /** TEST_PG_URL with `search_path` set to the schema: give it to a store as its URL. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Runs `fn` on a short-lived admin connection to the test database. */
export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(TEST_PG_URL, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function urlWithSchema(name: string, base = TEST_PG_URL): string {
  const u = new URL(base);
  u.searchParams.set('search_path', name);
  return u.toString();
}

export async function freshSchema(prefix = 't'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  try {
    await withAdmin((sql) => sql.unsafe(`CREATE SCHEMA ${name}`));
  } catch (e) {
    throw new Error(
      `PostgreSQL is needed for this test and is not reachable at ${TEST_PG_URL.replace(/:[^:@/]*@/, ':***@')} (set IMPRINT_TEST_PG_URL): ${(e as Error).message}`,
    );
  }
  return {
    name,
    url: urlWithSchema(name),
    drop: () => withAdmin((sql) => sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`)).then(() => {}),
  };
}

/** Which store the shared pairing tests run on: IMPRINT_TEST_STORE=postgres, else the embedded SQLite store. */
export function testStoreEngine(): 'sqlite' | 'postgres' {
  return process.env.IMPRINT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
}
