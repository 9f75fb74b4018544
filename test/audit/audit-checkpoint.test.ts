// The chain-head checkpoint (<data>/audit.head): kept at the head by the writer, never ahead of
// the database, never moved over evidence of a cut, started on upgraded trails.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { canonicalJson, sealEvent } from '../../src/audit/audit-canonical.ts';
import { MIGRATIONS } from '../../src/audit/audit-schema.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import {
  checkpointSignatureProblem,
  checkpointText,
  makeCheckpoint,
  parseCheckpoint,
  readCheckpointFile,
} from '../../src/audit/chain-checkpoint.ts';
import { GENESIS_HASH } from '../../src/audit/chain-link.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import type { Logger } from '../../src/common/logger.ts';
import { attacker, inTempDir, openTrail, STATION, seed, tempDir } from './audit-fixtures.ts';

function head(dir: string) {
  const r = readCheckpointFile(join(dir, 'audit.head'));
  if (!('checkpoint' in r)) throw new Error(`no checkpoint: ${JSON.stringify(r)}`);
  return r.checkpoint;
}

function lastSeq(trail: AuditTrail): { seq: number; hash: string } {
  const [e] = trail.query({ limit: 1 });
  return { seq: e.seq, hash: e.hash };
}

/** A logger that keeps error messages. */
function recordingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const noop = () => {};
  const logger = {
    error: (_o: unknown, msg: string) => errors.push(msg),
    warn: noop,
    info: noop,
    debug: noop,
    trace: noop,
    fatal: noop,
    child: () => logger,
  } as unknown as Logger;
  return { logger, errors };
}

describe('the chain-head checkpoint', () => {
  test('follows the head while appending, is never ahead of the database, and is at the head after close', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      for (let round = 0; round < 20; round++) {
        await seed(trail, 5);
        // Whatever refresh is in flight, the file only ever names committed events of this chain.
        const r = readCheckpointFile(join(dir, 'audit.head'));
        // A new trail is anchored at its genesis (event 0) before its first event.
        if ('checkpoint' in r && r.checkpoint.seq === 0) assert.equal(r.checkpoint.hash, GENESIS_HASH);
        else if ('checkpoint' in r) {
          const at = trail.query({ limit: 1, beforeSeq: r.checkpoint.seq + 1 })[0];
          assert.ok(r.checkpoint.seq <= lastSeq(trail).seq);
          assert.equal(at.hash, r.checkpoint.hash);
        }
      }
      const last = lastSeq(trail);
      trail.close();
      const c = head(dir);
      assert.deepEqual({ seq: c.seq, hash: c.hash }, last);
      assert.equal(c.keyId, loadOrCreateSigningKey(dir).keyId);
      assert.equal(readFileSync(join(dir, 'audit.head'), 'utf8'), checkpointText(c), 'canonical JSON and a line feed');
    });
  });

  test('verify of a running trail right after appends does not report a missing checkpoint', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      await trail.append({ station: STATION, step: 'identify', outcome: 'ok' });
      const s = trail.verify();
      assert.ok(s.ok, JSON.stringify(s));
      assert.deepEqual(
        s.anchors?.map((a) => a.seq),
        [1],
      );
      assert.ok((await trail.verifyAsync()).ok);
      trail.close();
    });
  });

  test('a checkpoint left behind by a crash is noted by verify and brought to the head by the next writer', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      await seed(trail, 3);
      trail.close();
      // As if the process died before its last refresh: the checkpoint names event 10 of 12.
      const key = loadOrCreateSigningKey(dir);
      const reader = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION, readonly: true });
      const tenth = reader.query({ limit: 1, beforeSeq: 11 })[0];
      writeFileSync(join(dir, 'audit.head'), checkpointText(makeCheckpoint(key, 10, tenth.hash)));
      const s = reader.verify();
      reader.close();
      assert.ok(s.ok, JSON.stringify(s));
      assert.match(s.notes?.join() ?? '', /last 2 events are not anchored yet/);
      openTrail(dir).close();
      assert.equal(head(dir).seq, 12);
    });
  });

  test('a new trail is anchored at its genesis before its first event: killed before the first refresh, it verifies', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      const genesis = head(dir);
      assert.deepEqual({ seq: genesis.seq, hash: genesis.hash }, { seq: 0, hash: GENESIS_HASH });
      const genesisText = readFileSync(join(dir, 'audit.head'), 'utf8');
      await seed(trail, 2);
      trail.close();
      // As if the station died between its first commit and its first refresh: only the genesis checkpoint.
      writeFileSync(join(dir, 'audit.head'), genesisText);
      const reader = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION, readonly: true });
      const s = reader.verify();
      reader.close();
      assert.ok(s.ok, JSON.stringify(s));
      assert.match(s.notes?.join() ?? '', /last \d+ events are not anchored yet/);
      // The next writer brings the checkpoint to the head.
      openTrail(dir).close();
      assert.ok(head(dir).seq > 0);
    });
  });

  test('a writer does not move a checkpoint its chain no longer reaches: the evidence of a cut stays', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      await seed(trail, 10);
      trail.close();
      const before = readFileSync(join(dir, 'audit.head'), 'utf8');
      const db = attacker(dir);
      db.prepare('DELETE FROM events WHERE seq > 30').run();
      db.close();
      // The station starts again and goes on appending, as if nothing happened.
      const { logger, errors } = recordingLogger();
      const restarted = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION, logger });
      await seed(restarted, 5);
      const s = restarted.verify();
      restarted.close();
      assert.equal(readFileSync(join(dir, 'audit.head'), 'utf8'), before, 'the checkpoint is left as it was');
      assert.match(errors.join(), /checkpoint is kept as evidence/);
      assert.equal(s.ok, false);
      assert.equal(s.ok ? 0 : s.brokenAt, 40, 'event 40 is not the one the checkpoint records');
    });
  });

  test('a deleted checkpoint is not silently replaced on a trail that had one', async () => {
    await inTempDir(async (dir) => {
      const trail = openTrail(dir);
      await seed(trail, 2);
      trail.close();
      unlinkSync(join(dir, 'audit.head'));
      const again = openTrail(dir);
      await seed(again, 1);
      const s = again.verify();
      again.close();
      assert.equal(s.ok, false);
      assert.match(s.ok ? '' : s.reason, /checkpoint .* is missing/);
      assert.ok('missing' in readCheckpointFile(join(dir, 'audit.head')));
    });
  });

  test('a trail written before checkpoints verifies with a note, and its first writable open starts one', () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'audit.db');
    try {
      const v2 = new Database(file);
      v2.exec(MIGRATIONS[0]);
      v2.exec(MIGRATIONS[1]);
      v2.pragma('user_version = 2');
      let prevHash = '0'.repeat(64);
      for (let seq = 1; seq <= 3; seq++) {
        const { event, body } = sealEvent(
          { station: STATION, step: 'identify', outcome: 'ok' },
          seq,
          '2026-11-23T00:00:00.000Z',
          prevHash,
        );
        v2.prepare('INSERT INTO events (seq, entry) VALUES (?, ?)').run(seq, `["${event.hash}",${body}]`);
        prevHash = event.hash;
      }
      v2.close();
      const reader = AuditTrail.open({ file, stationId: STATION, readonly: true });
      const s = reader.verify();
      reader.close();
      assert.ok(s.ok, JSON.stringify(s));
      assert.match(s.notes?.join() ?? '', /not anchored: it was written before chain-head checkpoints/);
      openTrail(tmp.dir).close();
      assert.deepEqual({ seq: head(tmp.dir).seq, hash: head(tmp.dir).hash }, { seq: 3, hash: prevHash });
    } finally {
      tmp.cleanup();
    }
  });

  test('two trails of one process on the same file keep one checkpoint at the head', async () => {
    await inTempDir(async (dir) => {
      const a = openTrail(dir);
      const b = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: 'pairing-core' });
      await Promise.all([seed(a, 5), b.append({ station: 'pairing-core', step: 'claim', outcome: 'ok' })]);
      await a.append({ station: STATION, step: 'identify', outcome: 'ok' });
      const last = lastSeq(a);
      b.close();
      a.close();
      assert.deepEqual({ seq: head(dir).seq, hash: head(dir).hash }, last);
    });
  });

  test('temporary files left by a writer that died are removed; those of a live one are not', () => {
    const tmp = tempDir();
    try {
      const dead = join(tmp.dir, 'audit.head.2147483646-1-1.tmp');
      const live = join(tmp.dir, `audit.head.${process.pid}-999-1.tmp`);
      writeFileSync(dead, 'x');
      writeFileSync(live, 'x');
      openTrail(tmp.dir).close();
      assert.equal(existsSync(dead), false);
      assert.equal(existsSync(live), true);
    } finally {
      tmp.cleanup();
    }
  });

  test('a checkpoint text must be canonical and complete, and its signature covers seq, hash, time and key', async () => {
    await inTempDir(async (dir) => {
      const c = makeCheckpoint(loadOrCreateSigningKey(dir), 5, 'a'.repeat(64), '2026-11-23T00:00:00.000Z');
      const text = checkpointText(c);
      assert.deepEqual(parseCheckpoint(text), c);
      assert.equal(checkpointSignatureProblem(c), undefined);
      assert.match(String(parseCheckpoint(text.replace('"seq":5', '"seq":5.0'))), /canonical/);
      assert.match(String(parseCheckpoint(canonicalJson({ ...c, extra: 1 }))), /exactly/);
      for (const changed of [{ seq: 6 }, { hash: 'b'.repeat(64) }, { time: '2027-01-01T00:00:00.000Z' }])
        assert.match(checkpointSignatureProblem({ ...c, ...changed }) ?? '', /does not verify/);
      assert.match(checkpointSignatureProblem(c, ['ed25519:0000000000000000']) ?? '', /not a trusted station key/);
    });
  });
});
