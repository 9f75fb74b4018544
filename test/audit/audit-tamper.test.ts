// Tampering with the database (an attacker with sqlite access, guards dropped) and with exports:
// verify must point at the exact event.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bodyOfEvent } from '../../src/audit/audit-canonical.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { verifyExport } from '../../src/audit/audit-verify.ts';
import { chunkRange, planChunks } from '../../src/audit/chain-chunks.ts';
import { entryBody, hashBody, packEntry } from '../../src/audit/chain-link.ts';
import { attacker, entryOf, openTrail, STATION, seed, setEntry, tempDir } from './audit-fixtures.ts';

const DEVICES = 100; // 400 events + batch open/close = 402

/** A fresh copy of the pristine trail for one test. */
function copyTrail(src: string, dst: string): void {
  cpSync(join(src, 'audit.db'), join(dst, 'audit.db'));
  cpSync(join(src, 'audit-signing-key.pem'), join(dst, 'audit-signing-key.pem'));
  cpSync(join(src, 'audit.head'), join(dst, 'audit.head'));
}

async function verifyCopy(dir: string, threads?: number, async = false) {
  const t = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION, readonly: true });
  try {
    return async ? await t.verifyAsync({ threads }) : t.verify({ threads });
  } finally {
    t.close();
  }
}

function broken(status: ReturnType<AuditTrail['verify']>): { at: number; reason: string } {
  assert.equal(status.ok, false, 'verify must detect the tampering');
  if (status.ok) throw new Error('unreachable');
  return { at: status.brokenAt, reason: status.reason };
}

describe('tampering with the database', () => {
  const pristine = tempDir();
  let total = 0;
  before(async () => {
    const t = openTrail(pristine.dir);
    const b = await t.openBatch({ workOrder: 'WO-1', operator: 'alice' });
    await seed(t, DEVICES, b.id, 7);
    await t.closeBatch(b.id);
    const status = t.verify();
    assert.ok(status.ok);
    total = status.events;
    // The WAL is folded into the file so a plain copy carries everything.
    t.close();
  });
  after(() => pristine.cleanup());

  // Each case runs single-threaded, split in 3 segments (2 worker threads), and fully on workers
  // without blocking (verifyAsync): same verdict.
  for (const [threads, async] of [
    [1, false],
    [3, false],
    [2, true],
  ] as const) {
    const tamper = (name: string, fn: (dir: string) => void, expect: (r: { at: number; reason: string }) => void) =>
      test(`${name} (threads: ${threads}${async ? ', async' : ''})`, async () => {
        const tmp = tempDir();
        try {
          copyTrail(pristine.dir, tmp.dir);
          fn(tmp.dir);
          expect(broken(await verifyCopy(tmp.dir, threads, async)));
        } finally {
          tmp.cleanup();
        }
      });

    tamper(
      'editing one field of one event is a hash mismatch at that event',
      (dir) => {
        const db = attacker(dir);
        setEntry(db, 150, entryOf(db, 150).replace(/"operator":"(alice|bob)"/, '"operator":"mallory"'));
        db.close();
      },
      (r) => {
        assert.equal(r.at, 150);
        assert.match(r.reason, /^hash mismatch/);
      },
    );

    tamper(
      'deleting one event is a seq gap at that event',
      (dir) => {
        const db = attacker(dir);
        db.prepare('DELETE FROM events WHERE seq = 200').run();
        db.close();
      },
      (r) => {
        assert.equal(r.at, 200);
        assert.match(r.reason, /^seq gap: event 200 is missing/);
      },
    );

    // The first seq of a chunk the threads share out (chain-chunks.ts); one thread walks it all.
    const boundary = () => (threads === 1 ? 135 : chunkRange(planChunks(total, threads), 5).from);

    tamper(
      'deleting the first event of a chunk is still found at that event',
      (dir) => {
        const db = attacker(dir);
        db.prepare('DELETE FROM events WHERE seq = ?').run(boundary());
        db.close();
      },
      (r) => {
        assert.equal(r.at, boundary());
        assert.match(r.reason, new RegExp(`^seq gap: event ${boundary()} is missing`));
      },
    );

    tamper(
      'deleting the last event of a chunk is found at that event',
      (dir) => {
        const db = attacker(dir);
        db.prepare('DELETE FROM events WHERE seq = ?').run(boundary() - 1);
        db.close();
      },
      (r) => {
        assert.equal(r.at, boundary() - 1);
        assert.match(r.reason, new RegExp(`^seq gap: event ${boundary() - 1} is missing`));
      },
    );

    tamper(
      'rewriting the last event of a chunk with a recomputed hash breaks the link of the first of the next',
      (dir) => {
        const db = attacker(dir);
        const seq = boundary() - 1;
        const body = entryBody(entryOf(db, seq)).replace(/"operator":"(alice|bob)"/, '"operator":"mallory"');
        setEntry(db, seq, packEntry(hashBody(body), body));
        db.close();
      },
      (r) => {
        assert.equal(r.at, boundary());
        assert.match(r.reason, new RegExp(`^prevHash mismatch: event ${boundary()} does not link`));
      },
    );

    tamper(
      'swapping two events is reported as reordered at the first of them',
      (dir) => {
        const db = attacker(dir);
        const a = entryOf(db, 300);
        const b = entryOf(db, 301);
        setEntry(db, 300, b);
        setEntry(db, 301, a);
        db.close();
      },
      (r) => {
        assert.equal(r.at, 300);
        assert.match(r.reason, /^reordered: the row at seq 300 holds event 301/);
      },
    );

    tamper(
      'rewriting an event with a recomputed hash breaks the link of the next one',
      (dir) => {
        const db = attacker(dir);
        const body = entryBody(entryOf(db, 50)).replace(/"operator":"(alice|bob)"/, '"operator":"mallory"');
        setEntry(db, 50, packEntry(hashBody(body), body));
        db.close();
      },
      (r) => {
        assert.equal(r.at, 51);
        assert.match(r.reason, /^prevHash mismatch: event 51 does not link to event 50/);
      },
    );
  }

  test('rewriting the whole chain after a changed batch summary is caught by the signature', async () => {
    const tmp = tempDir();
    try {
      copyTrail(pristine.dir, tmp.dir);
      const db = attacker(tmp.dir);
      // Inflate the signed pass count, then re-hash that event and everything after it.
      const closeSeq = total;
      let prev = JSON.parse(entryOf(db, closeSeq - 1))[0] as string;
      const e = JSON.parse(entryBody(entryOf(db, closeSeq)));
      delete e.v;
      e.data.summary.passed += 1;
      e.prevHash = prev;
      const body = bodyOfEvent(e);
      prev = hashBody(body);
      setEntry(db, closeSeq, packEntry(prev, body));
      db.close();
      const r = broken(await verifyCopy(tmp.dir));
      assert.equal(r.at, closeSeq);
      assert.match(r.reason, /^bad batch signature/);
    } finally {
      tmp.cleanup();
    }
  });

  test('a batches table that disagrees with the signed close event is reported', async () => {
    const tmp = tempDir();
    try {
      copyTrail(pristine.dir, tmp.dir);
      const db = attacker(tmp.dir);
      db.prepare("UPDATE batches SET summary = json_set(summary, '$.failed', 0)").run();
      db.close();
      const r = broken(await verifyCopy(tmp.dir));
      assert.equal(r.at, total);
      assert.match(r.reason, /batches table/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('tampering with exports', () => {
  const tmp = tempDir();
  let csv = '';
  let jsonl = '';
  before(async () => {
    const t = openTrail(tmp.dir);
    const b = await t.openBatch({ workOrder: 'WO-2', operator: 'bob' });
    await seed(t, 20, b.id, 3); // messages with commas, quotes and line breaks
    await t.closeBatch(b.id);
    await t.append({ station: STATION, step: 'settings-change', outcome: 'info', data: { '10': 'x', '9': 'y', é: 'ü' } });
    csv = t.export({ format: 'csv' });
    jsonl = t.export({ format: 'jsonl' });
    t.close();
  });
  after(() => tmp.cleanup());

  const csvLines = () => {
    // Split rows, keeping quoted line breaks inside their row.
    const rows: string[] = [];
    for (const part of csv.split('\r\n')) {
      const prev = rows.length ? rows[rows.length - 1] : undefined;
      if (prev !== undefined && (prev.match(/"/g)?.length ?? 0) % 2 === 1) rows[rows.length - 1] = `${prev}\r\n${part}`;
      else rows.push(part);
    }
    return rows;
  };
  const rowIndexOf = (rows: string[], seq: number) => rows.findIndex((r) => r.startsWith(`${seq},`));

  test('untouched exports verify, with the batch signature', () => {
    for (const [content, format] of [
      [csv, 'csv'],
      [jsonl, 'jsonl'],
    ] as const) {
      const s = verifyExport(content, format);
      assert.ok(s.ok, JSON.stringify(s));
      assert.equal(s.events, 83);
      assert.equal(s.signedBatches, 1);
    }
    assert.match(csv, /"device 0 failed, ""see"" log,\r?\nline 2"/);
  });

  test('CSV: edit, delete, reorder one row → the exact seq', () => {
    const rows = csvLines();
    const edited = [...rows];
    const i = rowIndexOf(rows, 40);
    edited[i] = edited[i].replace(/,(alice|bob),/, ',mallory,');
    assert.deepEqual(verifyExport(edited.join('\r\n'), 'csv'), {
      ok: false,
      events: 39,
      brokenAt: 40,
      reason: 'hash mismatch: the content of event 40 was changed',
    });

    const deleted = rows.filter((_, k) => k !== rowIndexOf(rows, 41));
    const d = verifyExport(deleted.join('\r\n'), 'csv');
    assert.equal(d.ok ? 0 : d.brokenAt, 41);
    assert.match(d.ok ? '' : d.reason, /^seq gap/);

    const swapped = [...rows];
    const a = rowIndexOf(rows, 42);
    [swapped[a], swapped[a + 1]] = [swapped[a + 1], swapped[a]];
    const s = verifyExport(swapped.join('\r\n'), 'csv');
    assert.equal(s.ok ? 0 : s.brokenAt, 42);
    assert.match(s.ok ? '' : s.reason, /^reordered: event 42 appears after event 43/);
  });

  test('JSON lines: edit, delete, reorder one line, drop the first or last event → the exact seq', () => {
    const lines = jsonl.trimEnd().split('\n');
    const at = (seq: number) => lines.findIndex((l) => l.startsWith(`{"v":1,"seq":${seq},`));
    const check = (ls: string[], seq: number, reason: RegExp) => {
      const r = verifyExport(`${ls.join('\n')}\n`, 'jsonl');
      assert.equal(r.ok ? 0 : r.brokenAt, seq, JSON.stringify(r));
      assert.match(r.ok ? '' : r.reason, reason);
    };
    const edited = [...lines];
    edited[at(10)] = edited[at(10)].replace('"outcome":"ok"', '"outcome":"fail"');
    check(edited, 10, /^hash mismatch/);
    check(
      lines.filter((_, k) => k !== at(11)),
      11,
      /^seq gap/,
    );
    const swapped = [...lines];
    [swapped[at(12)], swapped[at(13)]] = [swapped[at(13)], swapped[at(12)]];
    check(swapped, 12, /^reordered/);
    check(
      lines.filter((_, k) => k !== at(1)),
      1,
      /^seq gap: event 1 is missing/,
    );
    check(
      lines.filter((_, k) => k !== at(83)),
      83,
      /export ends early/,
    );
    check(lines.slice(0, -1), 84, /without its signed trailer/);
  });

  test('a changed signed summary in an export is detected, and untrusted keys can be refused', () => {
    const lines = jsonl.trimEnd().split('\n');
    const closeIdx = lines.findIndex((l) => l.includes('"step":"batch-close"'));
    const e = JSON.parse(lines[closeIdx]);
    delete e.v;
    e.data.summary.failed -= 1;
    e.data.summary.passed += 1;
    // Re-hash the whole rest of the chain, as a forger would.
    let prev = e.prevHash;
    for (let k = closeIdx; k < lines.length - 1; k++) {
      const ev = k === closeIdx ? e : JSON.parse(lines[k]);
      delete ev.v;
      ev.prevHash = prev;
      delete ev.hash;
      const body = bodyOfEvent(ev);
      prev = hashBody(body);
      lines[k] = `${body.slice(0, -1)},"hash":"${prev}"}`;
    }
    lines[lines.length - 1] = lines[lines.length - 1].replace(/"lastHash":"[0-9a-f]+"/, `"lastHash":"${prev}"`);
    const r = verifyExport(`${lines.join('\n')}\n`, 'jsonl');
    assert.equal(r.ok ? 0 : r.brokenAt, e.seq);
    assert.match(r.ok ? '' : r.reason, /^bad batch signature/);

    const wrongKey = verifyExport(jsonl, 'jsonl', { trustedKeyIds: ['ed25519:0000000000000000'] });
    assert.match(wrongKey.ok ? '' : wrongKey.reason, /not a trusted station key/);
  });

  test('a batch export is a verifiable segment of the chain', () => {
    const t = AuditTrail.open({ file: join(tmp.dir, 'audit.db'), stationId: STATION, readonly: true });
    try {
      const [b] = t.listBatches();
      const part = t.export({ format: 'jsonl', batchId: b.id });
      const s = verifyExport(part, 'jsonl');
      assert.ok(s.ok, JSON.stringify(s));
      assert.equal(s.firstSeq, 1);
      assert.equal(s.events, 82);
      assert.equal(s.signedBatches, 1);
      const c = verifyExport(t.export({ format: 'csv', batchId: b.id }), 'csv');
      assert.ok(c.ok && c.events === 82);
    } finally {
      t.close();
    }
  });
});
