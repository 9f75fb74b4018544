// Format details an offline verifier relies on: CSV parsing across chunk boundaries, canonical
// JSON, and read-only opening of something that is not a trail.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { canonicalBody, canonicalJson } from '../../src/audit/audit-canonical.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { verifyExportFile } from '../../src/audit/audit-verify.ts';
import { CsvReader } from '../../src/audit/csv-reader.ts';
import { openTrail, STATION, seed, tempDir } from './audit-fixtures.ts';

test('CSV records parse the same whatever the chunk boundaries', () => {
  const text = 'a,b,c\r\n1,"x, ""y""\r\nz",\r\n2,,"last"\n3,plain,"q"';
  const whole = new CsvReader();
  const expected = [...whole.push(text), ...whole.end()].map((r) => r.fields);
  assert.deepEqual(expected, [
    ['a', 'b', 'c'],
    ['1', 'x, "y"\r\nz', ''],
    ['2', '', 'last'],
    ['3', 'plain', 'q'],
  ]);
  for (const size of [1, 2, 3, 5, 7]) {
    const r = new CsvReader();
    const got: string[][] = [];
    for (let i = 0; i < text.length; i += size) got.push(...r.push(text.slice(i, i + size)).map((x) => x.fields));
    got.push(...r.end().map((x) => x.fields));
    assert.deepEqual(got, expected, `chunk size ${size}`);
  }
  const bad = new CsvReader();
  bad.push('"a"b,c\n');
  assert.match(bad.error ?? '', /after a closing quote/);
});

test('canonical JSON sorts keys by code unit, integer-like keys included, and drops undefined', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { '9': true, '10': [1, 'x', null], Z: undefined } }),
    '{"a":{"10":[1,"x",null],"9":true},"b":1}',
  );
  const body = canonicalBody({
    seq: 3,
    prevHash: 'p',
    ts: 't',
    station: 's',
    step: 'x',
    outcome: 'ok',
    message: 'a "q"\n',
    data: { z: 1, a: 2 },
  });
  assert.equal(
    body,
    '{"v":1,"seq":3,"prevHash":"p","ts":"t","station":"s","step":"x","outcome":"ok","message":"a \\"q\\"\\n","data":{"a":2,"z":1}}',
  );
});

test('exports stream from and to files of any size, and a read-only open refuses a foreign database', async () => {
  const tmp = tempDir();
  try {
    const trail = openTrail(tmp.dir);
    const b = await trail.openBatch({ workOrder: 'WO-F', operator: 'fay' });
    await seed(trail, 300, b.id, 9);
    await trail.closeBatch(b.id);
    let progress = 0;
    assert.ok(trail.verify({ onProgress: (n) => (progress = n) }).ok);
    assert.equal(progress, 1202);
    for (const format of ['csv', 'jsonl'] as const) {
      const file = join(tmp.dir, `all.${format}`);
      assert.deepEqual(await trail.exportToFile({ format, file }), { events: 1202 });
      const status = await verifyExportFile(file);
      assert.ok(status.ok && status.events === 1202 && status.signedBatches === 1, JSON.stringify(status));
    }
    trail.close();

    const foreign = join(tmp.dir, 'other.db');
    new Database(foreign).exec('CREATE TABLE t (x)').close();
    assert.throws(() => AuditTrail.open({ file: foreign, stationId: STATION, readonly: true }), { code: 'AUDIT_OPEN_FAILED' });
    writeFileSync(join(tmp.dir, 'empty.csv'), '');
    const empty = await verifyExportFile(join(tmp.dir, 'empty.csv'));
    assert.equal(empty.ok, false);
  } finally {
    tmp.cleanup();
  }
});
