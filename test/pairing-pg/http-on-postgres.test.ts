// The Pairing API's HTTP tests, and the core's own tests, once more on a PostgreSQL store: the same
// files, unchanged, run by a child `node --import tsx --test` with IMPRINT_TEST_STORE=postgres (each
// test core gets a fresh schema, dropped after). Fails, never skips, without a reachable PostgreSQL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { withAdmin } from '../helpers/pg-test-db.ts';

const root = new URL('../../', import.meta.url).pathname;
const inDir = (dir: string) =>
  readdirSync(new URL(`../${dir}/`, import.meta.url))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/${dir}/${f}`);

const FILES = [
  ...inDir('pairing-http'),
  ...inDir('pairing-claims'),
  ...inDir('pairing-sign'),
  'test/pairing/embedded-core.test.ts',
  'test/pairing/credentials.test.ts',
];

// Some fifteen files one after the other: more than the runner's default per-test timeout on a loaded machine.
test('the pairing HTTP, claims, /sign and core tests pass on a PostgreSQL store', { timeout: 20 * 60_000 }, async () => {
  await withAdmin((sql) => sql`SELECT 1`); // a clear failure first when PostgreSQL is not there
  // Without the runner's own marker, else the child would think it runs inside this test and skip its files.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...FILES], {
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
});
