// `imprint audit …` and `imprint batch …` end to end, as a user runs them (spawned processes).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { Batch } from '../../src/audit/audit-types.ts';
import { attacker, entryOf, seed, setEntry, tempDir } from './audit-fixtures.ts';

const BIN = new URL('../../bin/imprint.mjs', import.meta.url).pathname;

function imprint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.IMPRINT_DATA;
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('imprint audit / batch CLI', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'data');
  let batch: Batch;
  before(async () => {
    const r = await imprint([
      'batch',
      'open',
      '--work-order',
      'WO-9',
      '--operator',
      'dana',
      '--station',
      'line-9',
      '--json',
      '--data',
      data,
    ]);
    assert.equal(r.code, 0, r.stderr);
    batch = JSON.parse(r.stdout);
    // The station appends while the batch is open (another process, same file).
    const t = AuditTrail.open({ file: join(data, 'audit.db'), stationId: 'line-9' });
    await seed(t, 10, batch.id, 5);
    t.close();
  });
  after(() => tmp.cleanup());

  test('batch list, close, then audit verify succeeds (exit 0)', async () => {
    const list = await imprint(['batch', 'list', '--json', '--data', data]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as Batch[]).map((b) => [b.id, b.workOrder, b.station, b.closedAt]),
      [[batch.id, 'WO-9', 'line-9', undefined]],
    );
    const close = await imprint(['batch', 'close', '--data', data]);
    assert.equal(close.code, 0, close.stderr);
    assert.match(close.stdout, /closed batch .* 8 passed, 2 failed of 10/);
    assert.match(close.stdout, /failures: E_DIGEST 1, E_LABEL_MISMATCH 1/);
    assert.match(close.stdout, /signed by ed25519:[0-9a-f]{16}/);
    const [verify, again] = await Promise.all([
      imprint(['audit', 'verify', '--data', data]),
      imprint(['batch', 'close', '--data', data]),
    ]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /OK: 42 events verified/);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /AUDIT_NO_OPEN_BATCH/);
    const table = await imprint(['batch', 'list', '--data', data]);
    assert.match(table.stdout, /^ID\s+WORK ORDER\s+OPERATOR/);
    assert.match(table.stdout, /WO-9\s+dana .* 8\s+2\s+10/);
  });

  test('audit query filters and prints a table or JSON', async () => {
    const [tableOut, json] = await Promise.all([
      imprint(['audit', 'query', '--device', 'dev-3', '--data', data]),
      imprint(['audit', 'query', '--outcome', 'fail', '--step', 'record', '--batch', batch.id, '--json', '--data', data]),
    ]);
    assert.equal(tableOut.code, 0, tableOut.stderr);
    const lines = tableOut.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^SEQ\s+TIME \(UTC\)\s+STATION/);
    assert.equal(lines.length, 5);
    assert.match(lines[1], /dev-3\s+SN-3\s+record\s+ok/);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      JSON.parse(json.stdout)
        .map((e: { deviceId: string; errorCode: string }) => `${e.deviceId}:${e.errorCode}`)
        .sort(),
      ['dev-0:E_DIGEST', 'dev-5:E_LABEL_MISMATCH'],
    );
  });

  test('export CSV and JSON lines, verify them offline, and catch a tampered export (exit 3)', async () => {
    const csv = join(tmp.dir, 'trail.csv');
    const jsonl = join(tmp.dir, 'batch.jsonl');
    const [a, b] = await Promise.all([
      imprint(['audit', 'export', '--format', 'csv', '--out', csv, '--data', data]),
      imprint(['audit', 'export', '--format', 'jsonl', '--batch', batch.id, '--out', jsonl, '--data', data]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const text = readFileSync(csv, 'utf8');
    const tampered = join(tmp.dir, 'tampered.csv');
    writeFileSync(
      tampered,
      text.replace(/\r\n17,(.*?),dev-3,/, (m) => m.replace('dev-3', 'dev-X')),
    );
    assert.notEqual(readFileSync(tampered, 'utf8'), text);
    const [okCsv, okJsonl, bad] = await Promise.all([
      imprint(['audit', 'verify', '--file', csv]),
      imprint(['audit', 'verify', '--file', jsonl]),
      imprint(['audit', 'verify', '--file', tampered]),
    ]);
    assert.equal(okCsv.code, 0, okCsv.stdout + okCsv.stderr);
    assert.match(okCsv.stdout, /OK: 42 events verified, 1 signed batch summaries verified/);
    assert.equal(okJsonl.code, 0, okJsonl.stdout + okJsonl.stderr);
    assert.equal(bad.code, 3);
    assert.match(bad.stdout, /broken at event 17: hash mismatch/);
  });

  test('audit anchor prints a signed checkpoint, or the unsigned <seq>:<hash> where the key is not at hand', async () => {
    const copy = join(tmp.dir, 'nokey');
    mkdirSync(copy);
    for (const f of ['audit.db', 'audit.head']) copyFileSync(join(data, f), join(copy, f));
    const [signed, unsigned] = await Promise.all([
      imprint(['audit', 'anchor', '--json', '--data', data]),
      imprint(['audit', 'anchor', '--data', copy]),
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const c = JSON.parse(signed.stdout);
    assert.equal(c.format, 'imprint-audit-checkpoint/1');
    assert.match(unsigned.stdout, new RegExp(`anchor \\(unsigned: no station key here\\): ${c.seq}:${c.hash}`));
    const later = await imprint(['audit', 'verify', '--data', data, '--anchor', `${c.seq}:${c.hash}`]);
    assert.equal(later.code, 0, later.stdout);
  });

  test('a tampered database fails verify with exit 3 and names the event', async () => {
    const db = attacker(data);
    setEntry(db, 20, entryOf(db, 20).replace(/"operator":"(alice|bob)"/, '"operator":"mallory"'));
    db.close();
    const r = await imprint(['audit', 'verify', '--json', '--data', data]);
    assert.equal(r.code, 3);
    assert.deepEqual(JSON.parse(r.stdout), {
      ok: false,
      events: 19,
      brokenAt: 20,
      reason: 'hash mismatch: the content of event 20 was changed',
    });
  });

  test('a missing trail exits 1 and a usage error exits 2, each with a one-line message', async () => {
    const [missing, format] = await Promise.all([
      imprint(['audit', 'verify', '--data', join(tmp.dir, 'nowhere')]),
      imprint(['audit', 'export', '--format', 'xml', '--data', data]),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^imprint: AUDIT_NOT_FOUND: No audit trail here \(.*nowhere/);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /xml/);
  });
});
