import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { eventFromEntry } from '../../src/audit/audit-canonical.ts';
import { AuditPageReader, type AuditSearch } from '../../src/audit/audit-page-query.ts';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { openTrail, STATION, seed, tempDir } from './audit-fixtures.ts';

describe('QA search: a page with its total, and find by the start of a name', () => {
  const tmp = tempDir();
  let trail: AuditTrail;
  let batchA: string;
  before(async () => {
    trail = openTrail(tmp.dir);
    const a = await trail.openBatch({ workOrder: 'WO-Alpha-7', operator: 'Carol' });
    batchA = a.id;
    await seed(trail, 25, a.id, 5); // dev-0..24, SN-0..24, alice/bob: 100 events + the open
    await trail.closeBatch(a.id);
    await trail.openBatch({ workOrder: 'wo-beta', operator: 'Carol' });
    await trail.append({
      station: STATION,
      operator: 'Zoë',
      deviceId: 'AbCdEf',
      hardwareSerial: 'x%_y',
      step: 'identify',
      outcome: 'ok',
    });
  });
  after(() => {
    trail.close();
    tmp.cleanup();
  });

  test('the total counts every match, and the pages reach all of them', () => {
    let page = trail.queryPage({ limit: 7 });
    const head = trail.query({ limit: 1 })[0].seq;
    assert.equal(page.total, head);
    const seen: number[] = [];
    for (;;) {
      seen.push(...page.events.map((e) => e.seq));
      if (page.nextBeforeSeq === undefined) break;
      page = trail.queryPage({ limit: 7, beforeSeq: page.nextBeforeSeq });
      assert.equal(page.total, head, 'the total ignores the cursor');
    }
    assert.equal(seen.length, head);
    assert.deepEqual(
      seen,
      [...seen].sort((x, y) => y - x),
    );
    assert.equal(seen.at(-1), 1);
  });

  test('find is a case-insensitive prefix of the serial, device id, operator or work order', () => {
    const serials = trail.queryPage({ find: 'sn-1', limit: 1000 });
    // SN-1, SN-10..SN-19: 11 devices, 4 events each
    assert.equal(serials.total, 44);
    assert.ok(serials.events.every((e) => e.hardwareSerial?.startsWith('SN-1')));
    assert.equal(trail.queryPage({ find: 'DEV-2' }).total, 4 * 6); // dev-2, dev-20..24
    assert.equal(trail.queryPage({ find: 'ALI', step: 'record' }).total, 12); // alice: odd devices
    assert.equal(trail.queryPage({ find: 'abcd' }).events[0].deviceId, 'AbCdEf');
    // The batch's work order: its open event, its 100 device events and its close.
    const byWorkOrder = trail.queryPage({ find: 'wo-alpha', limit: 1000 });
    assert.equal(byWorkOrder.total, 102);
    assert.ok(byWorkOrder.events.every((e) => e.batchId === batchA));
    // With other filters: failures of the work order.
    assert.equal(trail.queryPage({ find: 'wo-ALPHA', step: 'record', outcome: 'fail' }).total, 5);
  });

  test('a time range counts the events inside it, alone or with other filters', () => {
    const events = trail.query({ limit: 1000 }).reverse();
    const from = events[10].ts;
    const to = events[60].ts;
    const inside = events.filter((e) => e.ts >= from && e.ts <= to);
    assert.equal(trail.queryPage({ from, to }).total, inside.length);
    assert.equal(trail.queryPage({ from, to, step: 'record' }).total, inside.filter((e) => e.step === 'record').length);
    assert.equal(
      trail.queryPage({ from, to, find: 'sn-1', limit: 1000 }).events.length,
      inside.filter((e) => e.hardwareSerial?.startsWith('SN-1')).length,
    );
    assert.equal(trail.queryPage({ from: '2999-01-01T00:00:00Z' }).total, 0);
    assert.equal(trail.queryPage({ to: '2000-01-01T00:00:00Z', step: 'record' }).total, 0);
  });

  test('find takes its text literally (no wildcards) and needs two characters', () => {
    assert.equal(trail.queryPage({ find: 'x%_' }).total, 1);
    assert.equal(trail.queryPage({ find: 'x_' }).total, 0);
    assert.equal(trail.queryPage({ find: '%%' }).total, 0);
    assert.throws(() => trail.queryPage({ find: 'S' }), { code: 'AUDIT_INVALID_QUERY' });
  });

  test('exact filters stay exact', () => {
    assert.equal(trail.queryPage({ deviceId: 'abcdef' }).total, 0);
    assert.equal(trail.queryPage({ deviceId: 'AbCdEf' }).total, 1);
    assert.equal(trail.queryPage({ operator: 'ALICE' }).total, 0);
    assert.equal(trail.queryPage({ operator: 'alice' }).total, 12 * 4 + 0);
  });

  test('no search reads the whole events table (EXPLAIN QUERY PLAN)', () => {
    const searches: AuditSearch[] = [
      { find: 'sn-1' },
      { find: 'wo-alpha' },
      { find: 'al', outcome: 'fail' },
      { find: 'dev', batchId: batchA, beforeSeq: 50 },
      { deviceId: 'dev-1' },
      { operator: 'alice', step: 'record' },
      { batchId: batchA, outcome: 'fail' },
      { from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z', step: 'record' },
    ];
    for (const q of searches) {
      const plan = trail.explainPage(q).join(' | ');
      assert.doesNotMatch(plan, /SCAN events(?! USING)/, `${JSON.stringify(q)}: ${plan}`);
    }
    // Unfiltered: the newest rows by seq (stops at the page) and the head as the total.
    const all = trail.explainPage({});
    assert.equal(all[0], 'SCAN events');
    assert.ok(all.slice(1).every((d) => d !== 'SCAN events') && all.includes('SEARCH events'), all.join(' | '));
  });
});

describe('a broad find (a range holding many events) answers what the exact search answers', () => {
  const tmp = tempDir();
  let trail: AuditTrail;
  let db: Database.Database;
  before(async () => {
    trail = openTrail(tmp.dir);
    for (const wo of ['WO-1', 'wo-2']) {
      const b = await trail.openBatch({ workOrder: wo, operator: 'Carol' });
      await seed(trail, 90, b.id, 7); // 90 serials: more distinct values than a range is taken apart into
      await trail.closeBatch(b.id);
    }
    db = new Database(join(tmp.dir, 'audit.db'), { readonly: true });
  });
  after(() => {
    db.close();
    trail.close();
    tmp.cleanup();
  });

  const pages = (reader: AuditPageReader, q: AuditSearch) => {
    const out: { seqs: number[]; total: number; capped: boolean }[] = [];
    let beforeSeq: number | undefined;
    do {
      const p = reader.page({ ...q, beforeSeq, limit: 13 });
      out.push({ seqs: p.events.map((e) => e.seq), total: p.total, capped: p.totalCapped === true });
      beforeSeq = p.nextBeforeSeq;
    } while (beforeSeq !== undefined);
    return out;
  };

  test('every page of every kind of broad find, alone, with filters and in a time range', () => {
    const exact = new AuditPageReader(db, eventFromEntry, 2 ** 40);
    const broad = new AuditPageReader(db, eventFromEntry, 20);
    const ts = trail.query({ limit: 1000 }).reverse();
    const searches: AuditSearch[] = [
      { find: 'al' }, // one operator: its newest seqs straight from the index
      { find: 'sn-' }, // 90 serials: read in windows
      { find: 'WO-' }, // two work orders' batches
      { find: 'de' }, // device ids
      { find: 'sn-', outcome: 'fail' }, // with a filter: rows tested
      { find: 'al', step: 'record', beforeSeq: 300 },
      { find: 'sn-', from: ts[100].ts, to: ts[500].ts },
    ];
    for (const q of searches) {
      const want = pages(exact, q);
      const got = pages(broad, q);
      assert.deepEqual(
        got.map((p) => p.seqs),
        want.map((p) => p.seqs),
        JSON.stringify(q),
      );
      for (const [i, p] of got.entries()) {
        if (p.capped) assert.ok(p.total <= want[i].total, `${JSON.stringify(q)}: a capped total is a lower bound`);
        else assert.equal(p.total, want[i].total, JSON.stringify(q));
      }
    }
  });
});
