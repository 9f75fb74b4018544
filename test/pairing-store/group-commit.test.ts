// The one group-commit mechanism (src/db/group-commit.ts) and the SQLite writer built on it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GroupCommit } from '../../src/db/group-commit.ts';
import { openSqlite, SqliteWriter } from '../../src/db/sqlite.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';

test('jobs added in one event-loop turn are committed together, once', async () => {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>((jobs) => {
    batches.push(jobs);
  });
  for (let i = 0; i < 100; i++) gc.add(i);
  assert.equal(batches.length, 0, 'nothing is committed synchronously');
  await gc.drain();
  assert.deepEqual(batches, [[...Array(100).keys()]]);
  assert.deepEqual(gc.stats(), { batches: 1, writes: 100 });
});

test('with an async commit, jobs arriving while it runs form the next batch', async () => {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  const gc = new GroupCommit<number>(async (jobs) => {
    batches.push(jobs);
    if (batches.length === 1) await new Promise<void>((r) => (release = r));
  });
  gc.add(1);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(batches, [[1]], 'the first commit is running');
  for (let i = 2; i <= 5; i++) gc.add(i);
  await new Promise((r) => setImmediate(r));
  assert.equal(batches.length, 1, 'no second commit while the first runs');
  release?.();
  await gc.drain();
  assert.deepEqual(batches, [[1], [2, 3, 4, 5]]);
});

test('while writes keep coming, writes that arrive a few turns apart share a commit', async () => {
  const batches: number[][] = [];
  // A commit that takes a while (as an fsync does): the window a small batch waits is at most that long.
  const gc = new GroupCommit<number>(
    async (jobs) => {
      batches.push(jobs);
      await new Promise((r) => setTimeout(r, 50));
    },
    { maxWaitMs: 1000 },
  );
  const turn = () => new Promise((r) => setImmediate(r));
  gc.add(0);
  await turn();
  await turn();
  assert.deepEqual(batches, [[0]], "an idle writer's first write commits at once");
  await gc.drain();
  // Requests on their way reach the store a few event-loop turns apart.
  gc.add(1);
  await turn();
  await turn();
  gc.add(2);
  await turn();
  gc.add(3);
  await gc.drain();
  assert.deepEqual(batches, [[0], [1, 2, 3]]);
});

test('flushNow commits what is queued at once (close and reads that must see every write)', () => {
  const batches: string[][] = [];
  const gc = new GroupCommit<string>((jobs) => {
    batches.push(jobs);
  });
  gc.add('a');
  gc.add('b');
  gc.flushNow();
  assert.deepEqual(batches, [['a', 'b']]);
});

test('the SQLite writer: one transaction per batch, a throwing op rolled back alone', async () => {
  const dir = makeTempDir('imprint-gc-');
  const db = openSqlite(join(dir, 'x.sqlite'));
  try {
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    const w = new SqliteWriter(db, 'test database');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        w.write(() => {
          insert.run(i);
          if (i === 7) throw new Error('op 7 fails after writing');
          return i;
        }),
      ),
    );
    assert.deepEqual(w.stats(), { batches: 1, writes: 50 });
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.equal((results[7] as PromiseRejectedResult).reason.message, 'op 7 fails after writing');
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 49);
    assert.equal(db.prepare('SELECT count(*) FROM t WHERE k = 7').pluck().get(), 0);
    const late = w.write(() => insert.run(100));
    await w.close();
    await late;
    await assert.rejects(
      w.write(() => 1),
      { code: 'DB_CLOSED' },
    );
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 50, 'close committed the queued write');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
