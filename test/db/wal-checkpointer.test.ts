// The group-committed writer that syncs off the event loop also checkpoints off it: the connection's
// automatic checkpoint is off, a thread of its own copies the WAL into the database file, and when that
// thread cannot run the connection checkpoints by itself again (the WAL never grows without bound).
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqlite, type SqliteDatabase, SqliteWriter } from '../../src/db/sqlite.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';

const ROW = 'x'.repeat(3000);

async function withWriter(
  fn: (db: SqliteDatabase, writer: SqliteWriter, file: string) => Promise<void>,
  checkpointThread?: URL,
): Promise<void> {
  const dir = makeTempDir();
  const file = join(dir, 'w.sqlite');
  const db = openSqlite(file);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const writer = new SqliteWriter(db, 'test', { syncOffLoop: file, checkpointThread });
  try {
    await fn(db, writer, file);
  } finally {
    await writer.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `rows` rows of ~3 KB, `perBatch` at a time: 2,000 rows put ~6 MiB in the WAL. */
async function fill(db: SqliteDatabase, writer: SqliteWriter, rows: number, perBatch = 50): Promise<void> {
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  for (let i = 0; i < rows; i += perBatch)
    await Promise.all(Array.from({ length: perBatch }, () => writer.write(() => insert.run(ROW))));
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), what);
}

test('the WAL is copied into the database file by a thread of its own, not by a commit on the event loop', async () => {
  await withWriter(async (db, writer, file) => {
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the connection does not checkpoint by itself');
    const before = statSync(file).size;
    await fill(db, writer, 2000);
    await until('a checkpoint ran on the thread', () => (writer.checkpointStats()?.checkpoints ?? 0) >= 1);
    // The rows reached the database file while the writer's connection stayed open (its commits never checkpoint).
    assert.ok(statSync(file).size > before + 1024 * 1024, `database file grew from ${before} bytes`);
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 2000);
    assert.equal(writer.checkpointStats()?.fallback, undefined);
  });
});

test('a small WAL never starts the thread: closing the connection checkpoints it', async () => {
  await withWriter(async (db, writer) => {
    await fill(db, writer, 20, 10);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(writer.checkpointStats()?.checkpoints, 0);
  });
});

test('when the checkpoint thread cannot run, the connection checkpoints by itself again', async () => {
  const broken = new URL('./failing-checkpoint-thread.ts', import.meta.url);
  await withWriter(async (db, writer) => {
    await fill(db, writer, 2000);
    await until('the writer fell back', () => writer.checkpointStats()?.fallback !== undefined);
    assert.match(writer.checkpointStats()?.fallback ?? '', /broken on purpose/);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    // Writes go on, durable as before.
    await fill(db, writer, 100);
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 2100);
  }, broken);
});
