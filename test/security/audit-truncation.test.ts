// Attack: cut events off the end of the trail — of audit.db (triggers dropped, as anyone with the
// file can) or of an export (its trailer rewritten). `imprint audit verify` must exit 3 and name
// the seq where the trail was cut; anchors kept outside the station catch what the disk cannot.
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { checkpointText, makeCheckpoint } from '../../src/audit/chain-checkpoint.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { attacker, imprintCli, STATION, seed } from '../audit/audit-fixtures.ts';
import { anchorHash, buildPristine, copyOf, EXPORT_CASES, type Pristine } from '../audit/tamper-cases.ts';

function cut(dir: string, keep: number): void {
  const db = attacker(dir);
  db.prepare('DELETE FROM events WHERE seq > ?').run(keep);
  db.close();
}

describe('cutting the end of the trail is evident', () => {
  let p: Pristine;
  before(async () => {
    p = await buildPristine();
  });
  after(() => p.cleanup());

  for (const n of [1, 50, 'all'] as const)
    test(`deleting the newest ${n === 'all' ? 'events, all of them' : `${n} event(s)`} from audit.db: exit 3 at the first missing seq`, async () => {
      const copy = copyOf(p);
      try {
        const keep = n === 'all' ? 0 : p.total - n;
        cut(copy.dir, keep);
        const r = await imprintCli(['audit', 'verify', '--data', copy.dir]);
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`BROKEN: broken at event ${keep + 1}: event ${keep + 1} is missing`));
        assert.match(r.stdout, /the end of the trail was cut/);
      } finally {
        copy.cleanup();
      }
    });

  test('a signed batch close past the cut is named even without the checkpoint', async () => {
    const copy = copyOf(p);
    try {
      cut(copy.dir, p.closeSeq - 1);
      unlinkSync(join(copy.dir, 'audit.head'));
      const r = await imprintCli(['audit', 'verify', '--data', copy.dir]);
      assert.equal(r.code, 3);
      assert.match(
        r.stdout,
        new RegExp(`broken at event ${p.closeSeq}: .*batches table records batch .* at event ${p.closeSeq}`),
      );
    } finally {
      copy.cleanup();
    }
  });

  test('a station restarted after the cut keeps appending, and verify still names the cut', async () => {
    const copy = copyOf(p);
    try {
      cut(copy.dir, p.total - 5);
      const evidence = readFileSync(join(copy.dir, 'audit.head'), 'utf8');
      const station = AuditTrail.open({ file: join(copy.dir, 'audit.db'), stationId: STATION });
      await seed(station, 3);
      station.close();
      assert.equal(readFileSync(join(copy.dir, 'audit.head'), 'utf8'), evidence, 'the checkpoint is not moved over the cut');
      const r = await imprintCli(['audit', 'verify', '--data', copy.dir]);
      assert.equal(r.code, 3);
      assert.match(
        r.stdout,
        // The checkpoint names event `total`: the chain now holds another event there.
        new RegExp(`broken at event ${p.total}: event ${p.total} is not the one the chain-head checkpoint`),
      );
    } finally {
      copy.cleanup();
    }
  });

  test('an anchor QA exported catches a cut hidden by putting back an older checkpoint', async () => {
    const copy = copyOf(p);
    try {
      const anchorFile = join(copy.dir, 'anchor.json');
      const a = await imprintCli(['audit', 'anchor', '--data', copy.dir, '--out', anchorFile]);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, new RegExp(`${p.total}:${anchorHash(p, p.total)}`));
      // Whoever holds the disk cuts 20 events and puts back the checkpoint of that older head.
      const old = p.total - 20;
      cut(copy.dir, old);
      writeFileSync(
        join(copy.dir, 'audit.head'),
        checkpointText(makeCheckpoint(loadOrCreateSigningKey(copy.dir), old, anchorHash(p, old))),
      );
      const alone = await imprintCli(['audit', 'verify', '--data', copy.dir]);
      assert.equal(alone.code, 0, 'the disk alone cannot show this cut (the documented limit)');
      const [withFile, withShort] = await Promise.all([
        imprintCli(['audit', 'verify', '--data', copy.dir, '--anchor', anchorFile]),
        imprintCli(['audit', 'verify', '--data', copy.dir, '--anchor', `${p.total}:${anchorHash(p, p.total)}`]),
      ]);
      for (const r of [withFile, withShort]) {
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(
          r.stdout,
          new RegExp(`broken at event ${old + 1}: event ${old + 1} is missing: .*the anchor .* records event ${p.total}`),
        );
      }
    } finally {
      copy.cleanup();
    }
  });

  test('an anchor the trail still reaches passes; a malformed --anchor is a usage error', async () => {
    const [ok, bad] = await Promise.all([
      imprintCli(['audit', 'verify', '--data', p.dir, '--anchor', `${p.total - 3}:${anchorHash(p, p.total - 3)}`]),
      imprintCli(['audit', 'verify', '--data', p.dir, '--anchor', '12:nothex']),
    ]);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, new RegExp(`reaches the anchor ${p.total - 3}:`));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^imprint: INVALID_ARGUMENT: .*\(--anchor/);
  });

  for (const c of EXPORT_CASES.filter((x) => /removed|fromSeq|trailer removed/.test(x.name)))
    test(`${c.format} export, ${c.name}: exit 3`, async () => {
      const copy = copyOf(p);
      try {
        const file = join(copy.dir, `export.${c.format}`);
        writeFileSync(file, c.tamper(c.format === 'csv' ? p.csv : p.jsonl, p));
        const r = await imprintCli(['audit', 'verify', '--file', file]);
        const expected = c.expect(p);
        assert.equal(r.code, 3, r.stdout);
        assert.match(r.stdout, new RegExp(`broken at event ${expected.ok ? -1 : expected.brokenAt}:`));
      } finally {
        copy.cleanup();
      }
    });
});
