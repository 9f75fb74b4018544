// Faults: a truncated, overwritten or foreign audit.db gives exit 3 and a sentence from verify (a
// one-line error from the other commands), never a JavaScript error; a trail on read-only media
// can still be verified and exported.
import assert from 'node:assert/strict';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { imprintCli, STATION, seed, tempDir } from '../audit/audit-fixtures.ts';

const JS_ERROR = /Cannot read properties|TypeError|ReferenceError|at .*\.(ts|mjs|js):\d+/;

describe('damaged and read-only audit files', () => {
  const pristine = tempDir();
  let size = 0;
  before(async () => {
    const t = AuditTrail.open({ file: join(pristine.dir, 'audit.db'), stationId: STATION });
    const b = await t.openBatch({ workOrder: 'WO-F', operator: 'alice' });
    await seed(t, 300, b.id, 9);
    await t.closeBatch(b.id);
    t.close();
    size = statSync(join(pristine.dir, 'audit.db')).size;
  });
  after(() => pristine.cleanup());

  function damagedCopy(damage: (file: string) => void): { dir: string; cleanup(): void } {
    const tmp = tempDir();
    for (const f of ['audit.db', 'audit.head', 'audit-signing-key.pem']) copyFileSync(join(pristine.dir, f), join(tmp.dir, f));
    damage(join(tmp.dir, 'audit.db'));
    return tmp;
  }

  const cases: [string, (file: string) => void][] = [
    ['truncated to nothing', (f) => truncateSync(f, 0)],
    ['truncated to 100 bytes', (f) => truncateSync(f, 100)],
    ['truncated to its first page', () => {}],
    ['truncated to half', () => {}],
    ['its last page cut short', () => {}],
    [
      'pages in the middle overwritten',
      (f) => {
        const fd = openSync(f, 'r+');
        writeSync(fd, Buffer.alloc(16384 * 3, 0x5a), 0, 16384 * 3, Math.floor(size / 2 / 16384) * 16384);
        closeSync(fd);
      },
    ],
    [
      'not a database at all',
      (f) => {
        const fd = openSync(f, 'w');
        writeSync(fd, 'these are not the events you are looking for\n'.repeat(200));
        closeSync(fd);
      },
    ],
  ];
  cases[2][1] = (f) => truncateSync(f, 16384);
  cases[3][1] = (f) => truncateSync(f, Math.floor(size / 2));
  cases[4][1] = (f) => truncateSync(f, size - 1000);

  for (const [name, damage] of cases)
    test(`audit.db ${name}: verify exits 3 with a sentence; export and query fail with one line`, async () => {
      const tmp = damagedCopy(damage);
      try {
        const [verify, exp, query] = await Promise.all([
          imprintCli(['audit', 'verify', '--data', tmp.dir]),
          imprintCli(['audit', 'export', '--format', 'jsonl', '--out', join(tmp.dir, 'x.jsonl'), '--data', tmp.dir]),
          imprintCli(['audit', 'query', '--limit', '10000', '--data', tmp.dir]),
        ]);
        assert.equal(verify.code, 3, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /BROKEN: broken at event \d+: /);
        assert.doesNotMatch(verify.stdout + verify.stderr, JS_ERROR);
        for (const r of [exp, query]) {
          assert.doesNotMatch(r.stdout + r.stderr, JS_ERROR);
          // A page that still reads fine may serve a query; an error is one line with its code, then what to do.
          if (r.code !== 0) {
            assert.equal(r.code, /^imprint: AUDIT_DAMAGED/.test(r.stderr) ? EXIT.TRAIL_BROKEN : EXIT.ERROR, r.stderr);
            assert.match(r.stderr, /^imprint: AUDIT_[A-Z_]+: .+\n {2}→ .+\n$/);
          }
        }
      } finally {
        tmp.cleanup();
      }
    });

  test('an unreadable checkpoint is a verdict (exit 3), not an error', async () => {
    const tmp = damagedCopy(() => {});
    try {
      const fd = openSync(join(tmp.dir, 'audit.head'), 'w');
      writeSync(fd, Buffer.from([0xff, 0xfe, 0x00]));
      closeSync(fd);
      const r = await imprintCli(['audit', 'verify', '--data', tmp.dir]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, /the chain-head checkpoint .* cannot be checked/);
    } finally {
      tmp.cleanup();
    }
  });

  // Root ignores file modes: the read-only cases then run the CLI as an unprivileged user.
  const uid = process.getuid?.() === 0 ? 65534 : undefined;

  test('a trail on read-only media (folder and files read-only) is verified and exported', async () => {
    const tmp = tempDir();
    try {
      chmodSync(tmp.dir, 0o755);
      const ro = join(tmp.dir, 'ro');
      const out = join(tmp.dir, 'out');
      cpSync(pristine.dir, ro, { recursive: true });
      mkdirSync(out, { mode: 0o777 });
      chmodSync(out, 0o777);
      for (const f of ['audit.db', 'audit.head', 'audit-signing-key.pem']) chmodSync(join(ro, f), 0o444);
      chmodSync(ro, 0o555);
      const file = join(out, 'trail.jsonl');
      const verify = await imprintCli(['audit', 'verify', '--data', ro], { uid });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /OK: 1202 events verified/);
      const exp = await imprintCli(['audit', 'export', '--format', 'jsonl', '--out', file, '--data', ro], { uid });
      assert.equal(exp.code, 0, exp.stderr);
      const again = await imprintCli(['audit', 'verify', '--file', file], { uid });
      assert.equal(again.code, 0, again.stdout);
      chmodSync(ro, 0o755);
    } finally {
      tmp.cleanup();
    }
  });

  test('read-only media holding a -wal with committed events: none is missed', async () => {
    const tmp = tempDir();
    try {
      chmodSync(tmp.dir, 0o755);
      const live = join(tmp.dir, 'live');
      const ro = join(tmp.dir, 'ro');
      const t = AuditTrail.open({ file: join(live, 'audit.db'), stationId: STATION });
      await seed(t, 5);
      t.verify(); // brings audit.head to the head
      // Copied while the station runs: the last events are only in audit.db-wal (no -shm copied).
      mkdirSync(ro);
      for (const f of ['audit.db', 'audit.db-wal', 'audit.head', 'audit-signing-key.pem'])
        copyFileSync(join(live, f), join(ro, f));
      t.close();
      assert.ok(readFileSync(join(ro, 'audit.db-wal')).length > 0, 'the copy holds a WAL');
      for (const f of ['audit.db', 'audit.db-wal', 'audit.head', 'audit-signing-key.pem']) chmodSync(join(ro, f), 0o444);
      chmodSync(ro, 0o555);
      const r = await imprintCli(['audit', 'verify', '--data', ro], { uid });
      chmodSync(ro, 0o755);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /OK: 20 events verified/);
    } finally {
      tmp.cleanup();
    }
  });
});
