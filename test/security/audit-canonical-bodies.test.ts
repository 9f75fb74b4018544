// Attack: store an event whose body says two things at once (a repeated member, a number or an
// escape not in canonical form) with a matching hash, so that the query columns, our verifier and
// other readers see different facts. Verify must refuse any body not exactly in canonical form.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { entryBody, hashBody, packEntry } from '../../src/audit/chain-link.ts';
import { attacker, entryOf, imprintCli, setEntry } from '../audit/audit-fixtures.ts';
import { buildPristine, copyOf, type Pristine } from '../audit/tamper-cases.ts';

describe('bodies not in canonical form are refused', () => {
  let p: Pristine;
  before(async () => {
    p = await buildPristine();
  });
  after(() => p.cleanup());

  test('a repeated "outcome" in audit.db: the query column says fail, verify exits 3 at that event, and so does our own export of it', async () => {
    const copy = copyOf(p);
    try {
      // Event 9 is the record event of device 1, which passed (events 2-5 are device 0's).
      const db = attacker(copy.dir);
      const body = entryBody(entryOf(db, 9)).replace('"outcome":"ok"', '"outcome":"fail","outcome":"ok"');
      setEntry(db, 9, packEntry(hashBody(body), body));
      db.close();
      const [query, verify] = await Promise.all([
        imprintCli(['audit', 'query', '--outcome', 'fail', '--json', '--data', copy.dir]),
        imprintCli(['audit', 'verify', '--data', copy.dir]),
      ]);
      assert.ok(
        (JSON.parse(query.stdout) as { seq: number }[]).some((e) => e.seq === 9),
        'SQLite reads the first of the two members',
      );
      assert.equal(verify.code, 3, verify.stdout);
      assert.match(verify.stdout, /broken at event 9: malformed event 9: not in canonical form \(duplicate member "outcome"/);
      const file = join(copy.dir, 'export.jsonl');
      const exported = await imprintCli(['audit', 'export', '--format', 'jsonl', '--out', file, '--data', copy.dir]);
      assert.equal(exported.code, 0, exported.stderr);
      const again = await imprintCli(['audit', 'verify', '--file', file]);
      assert.equal(again.code, 3);
      assert.match(again.stdout, /broken at event 9:/);
    } finally {
      copy.cleanup();
    }
  });

  for (const [what, from, to] of [
    ['a number with a trailing zero', '812.5', '812.50'],
    ['an exponent without its sign', '1e+21', '1e21'],
    ['a character escaped without need', '"é"', '"\\u00e9"'],
    ['whitespace', ',"step":', ', "step":'],
  ] as const)
    test(`${what} in audit.db, hash recomputed: exit 3 at that event`, async () => {
      const copy = copyOf(p);
      try {
        const db = attacker(copy.dir);
        const body = entryBody(entryOf(db, p.oddSeq)).replace(from, to);
        assert.notEqual(body, entryBody(entryOf(db, p.oddSeq)));
        setEntry(db, p.oddSeq, packEntry(hashBody(body), body));
        db.close();
        const r = await imprintCli(['audit', 'verify', '--data', copy.dir]);
        assert.equal(r.code, 3, r.stdout);
        assert.match(r.stdout, new RegExp(`broken at event ${p.oddSeq}: malformed event ${p.oddSeq}: not in canonical form`));
      } finally {
        copy.cleanup();
      }
    });

  test('a JSON-lines event with a repeated member and a recomputed hash: exit 3 at that event', async () => {
    const copy = copyOf(p);
    try {
      const lines = p.jsonl.split('\n');
      const i = lines.findIndex((l) => l.startsWith('{"v":1,"seq":9,'));
      const body = lines[i]
        .replace(/,"hash":"[0-9a-f]{64}"\}$/, '}')
        .replace('"outcome":"ok"', '"outcome":"fail","outcome":"ok"');
      lines[i] = `${body.slice(0, -1)},"hash":"${hashBody(body)}"}`;
      const file = join(copy.dir, 'dup.jsonl');
      writeFileSync(file, lines.join('\n'));
      const r = await imprintCli(['audit', 'verify', '--file', file]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, /broken at event 9: line \d+: not in canonical form \(duplicate member "outcome"/);
    } finally {
      copy.cleanup();
    }
  });

  test('a CSV value not in canonical form (durationMs 812.50): exit 3 at that event', async () => {
    const copy = copyOf(p);
    try {
      const file = join(copy.dir, 'odd.csv');
      writeFileSync(file, p.csv.replace(',812.5,', ',812.50,'));
      const r = await imprintCli(['audit', 'verify', '--file', file]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, new RegExp(`broken at event ${p.oddSeq}: .*durationMs "812.50" is not a number in canonical form`));
    } finally {
      copy.cleanup();
    }
  });
});
