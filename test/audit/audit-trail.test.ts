import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { bodyOfEvent, sealEvent } from '../../src/audit/audit-canonical.ts';
import { ERROR_CODE, MIGRATIONS } from '../../src/audit/audit-schema.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditQuery } from '../../src/audit/audit-types.ts';
import { checkpointText, makeCheckpoint } from '../../src/audit/chain-checkpoint.ts';
import { hashBody, packEntry } from '../../src/audit/chain-link.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { chainOf, deviceEvents, inTempDir, openTrail, STATION, seed, tempDir } from './audit-fixtures.ts';

describe('append and query', () => {
  const tmp = tempDir();
  let trail: AuditTrail;
  before(async () => {
    trail = openTrail(tmp.dir);
    await seed(trail, 30, undefined, 5);
  });
  after(() => {
    trail.close();
    tmp.cleanup();
  });

  test('an appended event comes back numbered, timestamped, chained and unchanged', async () => {
    const e = await trail.append({
      station: STATION,
      step: 'settings-change',
      outcome: 'info',
      message: 'realm → "test", ok',
      data: { b: 1, a: [2, { z: 0, y: null }] },
    });
    assert.equal(e.seq, 121);
    assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(e.hash, /^[0-9a-f]{64}$/);
    const [back] = trail.query({ step: 'settings-change' });
    assert.deepEqual(back, e);
    assert.equal(trail.query({ limit: 2 })[1].hash, e.prevHash);
  });

  test('queries filter by each field, newest first, with limit and paging', () => {
    const byDevice = trail.query({ deviceId: 'dev-7' });
    assert.deepEqual(
      byDevice.map((e) => e.step),
      ['record', 'write-secret', 'register', 'identify'],
    );
    assert.ok(byDevice.every((e) => e.deviceId === 'dev-7'));
    assert.equal(trail.query({ hardwareSerial: 'SN-3' }).length, 4);
    assert.equal(trail.query({ operator: 'alice', step: 'record' }).length, 15);
    assert.equal(trail.query({ station: STATION, limit: 1000 }).length, 121);
    const fails = trail.query({ outcome: 'fail', step: 'record' });
    assert.deepEqual(fails.map((e) => e.deviceId).sort(), ['dev-0', 'dev-10', 'dev-15', 'dev-20', 'dev-25', 'dev-5']);
    const page1 = trail.query({ limit: 10 });
    const page2 = trail.query({ limit: 10, beforeSeq: page1[9].seq });
    assert.equal(page2[0].seq, page1[9].seq - 1);
    const seqs = [...page1, ...page2].map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
  });

  test('eventsFrom reads the chain in order, for incremental readers such as sync', () => {
    const part = trail.eventsFrom(10, 5);
    assert.deepEqual(
      part.map((e) => e.seq),
      [10, 11, 12, 13, 14],
    );
    assert.equal(part[1].prevHash, part[0].hash);
    assert.equal(trail.eventsFrom(10_000).length, 0);
    assert.throws(() => trail.eventsFrom(1, 0), { code: 'AUDIT_INVALID_QUERY' });
  });

  test('time range queries are inclusive and reject bad dates', () => {
    const all = trail.query({ limit: 1000 });
    const mid = all[60];
    const upTo = trail.query({ to: mid.ts, limit: 1000 });
    assert.ok(upTo.some((e) => e.seq === mid.seq));
    assert.ok(upTo.every((e) => e.ts <= mid.ts));
    assert.ok(trail.query({ from: mid.ts, limit: 1000 }).every((e) => e.ts >= mid.ts));
    assert.equal(trail.query({ from: '2000-01-01', to: '2000-01-02' }).length, 0);
    assert.throws(() => trail.query({ from: 'yesterday-ish' }), { code: 'AUDIT_INVALID_QUERY' });
    assert.throws(() => trail.query({ limit: 0 }), { code: 'AUDIT_INVALID_QUERY' });
  });

  test('every query field is served by an index (EXPLAIN QUERY PLAN)', () => {
    const queries: AuditQuery[] = [
      { deviceId: 'dev-1' },
      { hardwareSerial: 'SN-1' },
      { batchId: 'b' },
      { operator: 'alice' },
      { station: STATION },
      { outcome: 'fail' },
      { step: 'record' },
      { from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' },
      { deviceId: 'dev-1', from: '2020-01-01T00:00:00Z' },
    ];
    for (const q of queries) {
      const plan = trail.explainQuery(q).join(' | ');
      assert.match(plan, /USING (COVERING )?INDEX events_/, `${JSON.stringify(q)}: ${plan}`);
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${JSON.stringify(q)} sorts: ${plan}`);
    }
  });

  test('stats count record events per hour and failures by code', () => {
    const s = trail.stats();
    assert.equal(
      s.throughputPerHour.reduce((a, h) => a + h.passed, 0),
      24,
    );
    assert.equal(
      s.throughputPerHour.reduce((a, h) => a + h.failed, 0),
      6,
    );
    assert.match(s.throughputPerHour[0].hour, /^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
    assert.deepEqual(s.failuresByCode, [
      { code: 'E_DIGEST', count: 3 },
      { code: 'E_LABEL_MISMATCH', count: 3 },
    ]);
  });
});

/** A new trail for the enclosing describe block (opened before its tests, closed and removed after). */
function trailPerSuite(): { trail: () => AuditTrail; dir: string } {
  const tmp = tempDir();
  let trail: AuditTrail;
  before(() => {
    trail = openTrail(tmp.dir);
  });
  after(() => {
    trail.close();
    tmp.cleanup();
  });
  return { trail: () => trail, dir: tmp.dir };
}

describe('canonical data', () => {
  const { trail } = trailPerSuite();

  test('data is stored in canonical form (integer-like keys too), and a changed copy no longer matches the hash', async () => {
    const e = await trail().append({
      station: STATION,
      step: 'settings-change',
      outcome: 'info',
      data: { 10: 'ten', 9: 'nine', b: { 2: true, 1: false } },
    });
    const body = bodyOfEvent(e);
    assert.match(body, /,"data":\{"10":"ten","9":"nine","b":\{"1":false,"2":true\}\}\}$/);
    assert.equal(hashBody(body), e.hash);
    assert.deepEqual(trail().query({ limit: 1 })[0], e);
    // The text sealed with the event is not reused for the caller's object afterwards.
    (e.data as Record<string, unknown>)[9] = 'NINE';
    assert.notEqual(hashBody(bodyOfEvent(e)), e.hash);
    assert.ok(trail().verify().ok);
  });
});

describe('stored rows', () => {
  test('a row is stored as TEXT, exactly packEntry(hash, body), non-ASCII text included, and its columns read back', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      // Burst of 100 (a 64-row block and 36 single rows), each with 2- to 4-byte UTF-8 characters.
      const events = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          trail.append({
            station: STATION,
            operator: `opé${i % 3}`,
            deviceId: `dév-${i}-😀`,
            step: 'identify',
            outcome: 'ok',
            message: `quote " backslash \\ newline \n ～ ${i}`,
            data: { é: 'ü', '10': i },
          }),
        ),
      );
      trail.close();
      const db = new Database(join(dir, 'audit.db'), { readonly: true });
      const rows = db.prepare('SELECT seq, typeof(entry) AS type, entry, device_id, operator FROM events ORDER BY seq').all() as {
        seq: number;
        type: string;
        entry: string;
        device_id: string;
        operator: string;
      }[];
      db.close();
      assert.equal(rows.length, 100);
      for (const [i, r] of rows.entries()) {
        assert.equal(r.type, 'text');
        assert.equal(r.entry, packEntry(events[i].hash, bodyOfEvent(events[i])));
        assert.equal(hashBody(bodyOfEvent(events[i])), events[i].hash);
        assert.equal(r.device_id, `dév-${i}-😀`);
        assert.equal(r.operator, `opé${i % 3}`);
      }
      const again = openTrail(dir);
      assert.deepEqual(again.query({ deviceId: 'dév-42-😀' }), [events[42]]);
      assert.deepEqual(chainOf(again.verify()), { ok: true, events: 100, lastHash: events[99].hash });
      again.close();
    });
  });
});

describe('schema upgrades', () => {
  test('a trail written with schema v1 is upgraded in place: it still verifies, queries and appends', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'audit.db');
    try {
      // A v1 file as the first release wrote it: `hash` and `body` were generated columns then.
      const v1 = new Database(file);
      v1.exec(MIGRATIONS[0]);
      v1.pragma('user_version = 1');
      let prevHash = '0'.repeat(64);
      for (let seq = 1; seq <= 3; seq++) {
        const { event, body } = sealEvent(
          { station: STATION, step: 'identify', outcome: 'ok', deviceId: `dev-${seq}` },
          seq,
          `2026-11-23T00:00:0${seq}.000Z`,
          prevHash,
        );
        v1.prepare('INSERT INTO events (seq, entry) VALUES (?, ?)').run(seq, `["${event.hash}",${body}]`);
        prevHash = event.hash;
      }
      v1.close();

      const trail = AuditTrail.open({ file, stationId: STATION });
      let lastHash = '';
      try {
        assert.deepEqual(chainOf(trail.verify()), { ok: true, events: 3, lastHash: prevHash });
        assert.equal(trail.query({ deviceId: 'dev-2' })[0].seq, 2);
        const next = await trail.append({ station: STATION, step: 'identify', outcome: 'ok', deviceId: 'dev-4' });
        assert.equal(next.prevHash, prevHash);
        assert.equal(trail.verify().events, 4);
        lastHash = next.hash;
      } finally {
        trail.close();
      }
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      // The hash and body stay readable with sqlite3, from the events_text view.
      const row = db.prepare('SELECT hash, body FROM events_text WHERE seq = 4').get() as { hash: string; body: string };
      assert.equal(row.hash, lastHash);
      assert.match(row.body, /^\{"v":1,"seq":4,"prevHash":"[0-9a-f]{64}",/);
      db.close();
    } finally {
      tmp.cleanup();
    }
  });
  test('a trail written with schema v4 (error_code a generated column) is upgraded: error codes still counted, read-only readers too', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'audit.db');
    try {
      const v4 = new Database(file);
      for (const m of MIGRATIONS.slice(0, 4)) v4.exec(m);
      v4.pragma('user_version = 4');
      let prevHash = '0'.repeat(64);
      const codes = ['E_DIGEST', 'E_TIMEOUT', 'E_DIGEST', undefined, 'E_LOCK', 'E_DIGEST'];
      for (let seq = 1; seq <= codes.length; seq++) {
        const code = codes[seq - 1];
        const { event, body } = sealEvent(
          { station: STATION, step: 'record', outcome: code ? 'fail' : 'ok', errorCode: code, deviceId: `dev-${seq}` },
          seq,
          `2026-11-23T00:00:0${seq}.000Z`,
          prevHash,
        );
        v4.prepare('INSERT INTO events (seq, entry) VALUES (?, ?)').run(seq, packEntry(event.hash, body));
        prevHash = event.hash;
      }
      assert.deepEqual(
        v4.prepare("SELECT error_code FROM events WHERE step = 'record' ORDER BY seq").pluck().all(),
        codes.map((c) => c ?? null),
        'v4 keeps error_code as a column',
      );
      v4.close();
      // Its chain-head checkpoint, as a v4 writer keeps it (v3 on).
      writeFileSync(
        join(tmp.dir, 'audit.head'),
        checkpointText(makeCheckpoint(loadOrCreateSigningKey(tmp.dir), codes.length, prevHash)),
      );
      const expected = [
        { code: 'E_DIGEST', count: 3 },
        { code: 'E_LOCK', count: 1 },
        { code: 'E_TIMEOUT', count: 1 },
      ];
      // A reader does not migrate: it counts from the v4 file as it is.
      const reader = AuditTrail.open({ file, stationId: STATION, readonly: true });
      assert.deepEqual(reader.stats().failuresByCode, expected);
      reader.close();

      const trail = AuditTrail.open({ file, stationId: STATION });
      try {
        assert.deepEqual(trail.stats().failuresByCode, expected);
        const batch = await trail.openBatch({ workOrder: 'WO-V5', operator: 'alice' });
        await trail.append({ station: STATION, batchId: batch.id, step: 'record', outcome: 'fail', errorCode: 'E_LOCK' });
        await trail.append({ station: STATION, batchId: batch.id, step: 'record', outcome: 'ok' });
        const closed = await trail.closeBatch(batch.id);
        assert.deepEqual(closed.summary?.failuresByCode, { E_LOCK: 1 });
        assert.deepEqual(trail.stats({ batchId: batch.id }).failuresByCode, [{ code: 'E_LOCK', count: 1 }]);
        assert.deepEqual(chainOf(trail.verify()), { ok: true, events: 10, lastHash: trail.query({ limit: 1 })[0].hash });
      } finally {
        trail.close();
      }
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      const columns = (db.prepare('SELECT name FROM pragma_table_xinfo(?)').pluck().all('events') as string[]).sort();
      assert.ok(!columns.includes('error_code'), 'error_code is no longer a column');
      assert.ok(columns.includes('outcome') && columns.includes('batch_id'));
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT outcome, ${ERROR_CODE} AS code, count(*) FROM events WHERE batch_id = ? AND step = 'record' GROUP BY 1, 2`,
        )
        .all('x') as { detail: string }[];
      assert.match(plan.map((r) => r.detail).join(' | '), /events_batch_record/);
      db.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('durability and group commit', () => {
  test('the trail runs in WAL mode with synchronous=FULL', () => {
    const tmp = tempDir();
    const trail = openTrail(tmp.dir);
    try {
      assert.deepEqual(trail.storageSettings(), { journalMode: 'wal', synchronous: 'FULL' });
      const db = new Database(join(tmp.dir, 'audit.db'), { readonly: true });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      db.close();
    } finally {
      trail.close();
      tmp.cleanup();
    }
  });

  test('1,000 concurrent appends are all stored once, contiguous, and the chain verifies after reopen', async () => {
    await inTempDir(async (dir) => {
      let trail = openTrail(dir);
      const live: number[] = [];
      trail.onAppend((e) => live.push(e.seq));
      const events = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          trail.append({ station: STATION, step: 'identify', outcome: 'ok', deviceId: `d${i}` }),
        ),
      );
      assert.deepEqual(
        events.map((e) => e.seq).sort((a, b) => a - b),
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      // Appends made in one turn are delivered in call order.
      assert.deepEqual(
        events.map((e) => e.deviceId),
        Array.from({ length: 1000 }, (_, i) => `d${i}`),
      );
      assert.equal(live.length, 1000, 'listeners hear every committed event');
      trail.close();
      trail = openTrail(dir);
      assert.deepEqual(chainOf(trail.verify()), { ok: true, events: 1000, lastHash: events[999].hash });
      assert.equal(new Set(trail.query({ limit: 2000, step: 'identify' }).map((e) => e.deviceId)).size, 1000);
      // Appending after reopen continues the same chain.
      const next = await trail.append({ station: STATION, step: 'identify', outcome: 'ok' });
      assert.equal(next.seq, 1001);
      assert.equal(next.prevHash, events[999].hash);
      trail.close();
    });
  });

  test('a burst larger than an insert block, with a batch closed in its middle, is stored in call order and the close counts what came before it', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      const batch = await trail.openBatch({ workOrder: 'WO-BURST', operator: 'alice' });
      const record = (i: number) =>
        trail.append({ station: STATION, batchId: batch.id, deviceId: `d${i}`, step: 'record', outcome: 'ok' });
      // One turn, so one commit: 1,100 events (blocks of 1,024 and 64 rows, 12 single rows), the close,
      // 70 more (a 64-row block and 6 single rows).
      const before = Array.from({ length: 1100 }, (_, i) => record(i));
      const closing = trail.closeBatch(batch.id);
      const afterClose = Array.from({ length: 70 }, (_, i) => record(1100 + i));
      const [events, closed, late] = await Promise.all([Promise.all(before), closing, Promise.all(afterClose)]);
      assert.equal(closed.summary?.total, 1100, 'the signed summary counts exactly the events before the close');
      assert.deepEqual(
        [...events, ...late].map((e) => e.seq),
        [...Array.from({ length: 1100 }, (_, i) => i + 2), ...Array.from({ length: 70 }, (_, i) => i + 1103)],
      );
      assert.equal(trail.query({ step: 'batch-close' })[0].seq, 1102);
      assert.deepEqual(
        trail.query({ batchId: batch.id, step: 'record', limit: 2000 }).map((e) => e.deviceId),
        Array.from({ length: 1170 }, (_, i) => `d${1169 - i}`),
      );
      assert.deepEqual(chainOf(trail.verify()), { ok: true, events: 1172, lastHash: late[69].hash });
      trail.close();
    });
  });

  test('a commit of 8,000 events (blocks of every size) stores them in call order, each indexed and chained', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      // One commit: blocks of 4,096, 2,048, 1,024, 512, 256 and 64 rows, then 0 single rows.
      const n = 8000;
      const events = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          trail.append({ station: STATION, deviceId: `d${i}`, hardwareSerial: `SN${i % 97}`, step: 'identify', outcome: 'ok' }),
        ),
      );
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: n }, (_, i) => i + 1),
      );
      for (const i of [0, 4095, 4096, 6143, 6144, 7167, 7168, 7679, 7680, 7935, 7936, 7999]) {
        assert.deepEqual(trail.query({ deviceId: `d${i}` }), [events[i]], `event ${i} is found by its device`);
      }
      assert.equal(trail.query({ hardwareSerial: 'SN5', limit: 1000 }).length, Math.ceil((n - 5) / 97));
      assert.deepEqual(chainOf(trail.verify()), { ok: true, events: n, lastHash: events[n - 1].hash });
      trail.close();
    });
  });

  test('a commit whose insert fails part-way through a block stores none of its events, and the trail goes on', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      await trail.append({ station: STATION, step: 'identify', outcome: 'ok' });
      // The database refuses the 600th row: the burst's first 1,024-row block fails part-way.
      const other = new Database(join(dir, 'audit.db'));
      other.exec(
        "CREATE TRIGGER refuse_600 BEFORE INSERT ON events WHEN NEW.seq = 600 BEGIN SELECT RAISE(ABORT, 'refused'); END",
      );
      const burst = Array.from({ length: 1500 }, (_, i) =>
        trail.append({ station: STATION, step: 'identify', outcome: 'ok', deviceId: `d${i}` }),
      );
      const results = await Promise.allSettled(burst);
      assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'AUDIT_WRITE_FAILED'));
      assert.deepEqual(
        other.prepare('SELECT seq FROM events ORDER BY seq').pluck().all(),
        [1],
        'nothing of the failed commit was stored',
      );
      other.exec('DROP TRIGGER refuse_600');
      other.close();
      const next = await trail.append({ station: STATION, step: 'identify', outcome: 'ok' });
      assert.equal(next.seq, 2);
      trail.close();
    });
  });

  test('close() commits appends still queued in this turn', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      const pending = trail.append({ station: STATION, step: 'identify', outcome: 'ok' });
      trail.close();
      assert.equal((await pending).seq, 1);
      const again = openTrail(dir);
      assert.equal(again.query().length, 1);
      again.close();
    });
  });

  test('a second process appending to the same file continues the chain instead of forking it', async () => {
    await inTempDir(async (dir) => {
      const a = openTrail(dir);
      const b = openTrail(dir);
      await a.append({ station: STATION, step: 'identify', outcome: 'ok' });
      await b.append({ station: STATION, step: 'identify', outcome: 'ok' });
      await a.append({ station: STATION, step: 'identify', outcome: 'ok' });
      assert.deepEqual(chainOf(a.verify()), { ok: true, events: 3, lastHash: a.query({ limit: 1 })[0].hash });
      a.close();
      b.close();
    });
  });
});

describe('guards', () => {
  const { trail, dir } = trailPerSuite();

  test('events whose data holds a secret-like key are rejected and nothing is written', async () => {
    const secret = 'c2VjcmV0IHRoYXQgbXVzdCBuZXZlciBiZSBsb2dnZWQhIQ==';
    for (const data of [
      { credentials_secret: secret },
      { secret },
      { agentToken: secret },
      { password: secret },
      { nested: { list: [{ 'Credentials-Secret': secret }] } },
      { pin: '1234' },
    ]) {
      await assert.rejects(
        trail().append({ station: STATION, step: 'register', outcome: 'ok', data }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'AUDIT_SECRET_REJECTED');
          assert.ok(!e.message.includes(secret) && !e.message.includes('1234'), 'the value is never echoed');
          return true;
        },
      );
    }
    assert.equal(trail().query().length, 0);
    // A fingerprint is not a secret.
    await trail().append({
      station: STATION,
      step: 'register',
      outcome: 'ok',
      data: { secretFingerprint: 'fp1:0011223344556677' },
    });
    assert.equal(trail().query().length, 1);
  });

  test('malformed events and the record convention are enforced', async () => {
    const bad = [
      { station: '', step: 'x', outcome: 'ok' },
      { station: STATION, step: 'Bad Step', outcome: 'ok' },
      { station: STATION, step: 'x', outcome: 'maybe' },
      { station: STATION, step: 'x', outcome: 'ok', extra: 1 },
      { station: STATION, step: 'x', outcome: 'ok', durationMs: -1 },
      { station: STATION, step: 'record', outcome: 'info' },
      { station: STATION, step: 'record', outcome: 'fail' },
      { station: STATION, step: 'batch-close', outcome: 'info' },
    ];
    for (const e of bad) await assert.rejects(trail().append(e as never), { code: 'AUDIT_INVALID_EVENT' }, JSON.stringify(e));
    await assert.rejects(trail().append({ ...deviceEvents(1)[0], batchId: 'no-such-batch' }), { code: 'AUDIT_UNKNOWN_BATCH' });
  });

  test('the database refuses UPDATE and DELETE on events', () => {
    const db = new Database(join(dir, 'audit.db'));
    try {
      assert.throws(() => db.prepare("UPDATE events SET entry = '[]' WHERE seq = 1").run(), /append-only/);
      assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
    } finally {
      db.close();
    }
  });

  test('the signing key file is private (mode 0600)', async () => {
    const b = await trail().openBatch({ workOrder: 'WO-K', operator: 'alice' });
    await trail().closeBatch(b.id);
    assert.equal(statSync(join(dir, 'audit-signing-key.pem')).mode & 0o777, 0o600);
  });
});
