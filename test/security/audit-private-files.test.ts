// The audit trail's files are private: database, SQLite's -wal and -shm, checkpoint, signing key
// and exports are created 0600 (whatever the umask), an existing readable one is tightened.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { imprintCli, openTrail, STATION, seed, tempDir } from '../audit/audit-fixtures.ts';

const mode = (f: string) => statSync(f).mode & 0o777;

describe('audit files are private', () => {
  test('a new trail: folder 0700; audit.db, -wal, -shm, audit.head and the key 0600', async () => {
    const tmp = tempDir();
    const previous = process.umask(0o022);
    try {
      const dir = join(tmp.dir, 'data');
      const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION });
      const b = await trail.openBatch({ workOrder: 'WO-P', operator: 'alice' });
      await seed(trail, 2, b.id);
      await trail.closeBatch(b.id);
      trail.verify();
      // While the trail is open SQLite keeps its -wal and -shm next to the database.
      for (const f of ['audit.db', 'audit.db-wal', 'audit.db-shm', 'audit.head', 'audit-signing-key.pem'])
        assert.equal(mode(join(dir, f)).toString(8), '600', f);
      assert.equal(mode(dir).toString(8), '700');
      trail.close();
    } finally {
      process.umask(previous);
      tmp.cleanup();
    }
  });

  test('an existing trail readable by others is tightened when opened for writing', async () => {
    const tmp = tempDir();
    try {
      const trail = openTrail(tmp.dir);
      await seed(trail, 1);
      trail.close();
      for (const f of ['audit.db', 'audit.head', 'audit-signing-key.pem']) chmodSync(join(tmp.dir, f), 0o644);
      const again = openTrail(tmp.dir);
      await seed(again, 1);
      again.close();
      for (const f of ['audit.db', 'audit.head', 'audit-signing-key.pem'])
        assert.equal(mode(join(tmp.dir, f)).toString(8), '600', f);
    } finally {
      tmp.cleanup();
    }
  });

  test('exports and anchors written by the CLI are 0600', async () => {
    const tmp = tempDir();
    try {
      const trail = openTrail(tmp.dir);
      await seed(trail, 1);
      trail.close();
      const [exp, anchor] = await Promise.all([
        imprintCli(['audit', 'export', '--format', 'csv', '--out', join(tmp.dir, 'out.csv'), '--data', tmp.dir]),
        imprintCli(['audit', 'anchor', '--out', join(tmp.dir, 'anchor.json'), '--data', tmp.dir]),
      ]);
      assert.equal(exp.code, 0, exp.stderr);
      assert.equal(anchor.code, 0, anchor.stderr);
      assert.ok(existsSync(join(tmp.dir, 'out.csv')));
      assert.equal(mode(join(tmp.dir, 'out.csv')).toString(8), '600');
      assert.equal(mode(join(tmp.dir, 'anchor.json')).toString(8), '600');
    } finally {
      tmp.cleanup();
    }
  });
});
