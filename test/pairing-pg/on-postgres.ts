// Runs test files of the SQLite suites once more on a PostgreSQL store: the same files, unchanged, in
// a child `node --import tsx --test` with IMPRINT_TEST_STORE=postgres (each test core gets a fresh
// schema, dropped after). Fails, never skips, without a reachable PostgreSQL. The files are split
// over a few *-on-postgres.test.ts files so that each stays within the runner's per-file timeout on
// a loaded machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { withAdmin } from '../helpers/pg-test-db.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The test files of `test/<dir>/`. */
export const testFilesIn = (dir: string) =>
  readdirSync(new URL(`../${dir}/`, import.meta.url))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/${dir}/${f}`);

/** The pairing-http files that drive the CLI in child processes (the slow ones, run on their own). */
export const CLI_FILES = ['test/pairing-http/astartectl-cli.test.ts', 'test/pairing-http/cli.test.ts'];

export async function passOnPostgres(files: string[]): Promise<void> {
  await withAdmin((sql) => sql`SELECT 1`); // a clear failure first when PostgreSQL is not there
  // Without the runner's own marker, else the child would think it runs inside this test and skip its files.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
    cwd: root,
    env: { ...env, IMPRINT_TEST_STORE: 'postgres' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const failed = out.split('\n').filter((l) => /^\s*✖/.test(l));
  assert.equal(code, 0, `on PostgreSQL:\n${failed.join('\n')}\n${out.slice(-3000)}`);
  assert.match(out, /ℹ pass [1-9]\d*/);
  assert.match(out, /ℹ fail 0/);
}
