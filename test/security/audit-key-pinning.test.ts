// Attack: rewrite the history and re-sign every batch summary and the checkpoint with another key
// (the signing key sits next to audit.db, so whoever can write one can usually replace the other).
// Unpinned, that verifies; pinned to the station's published key id or public key, it must not —
// for a database as for an export.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { checkpointText, makeCheckpoint } from '../../src/audit/chain-checkpoint.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { imprintCli, STATION } from '../audit/audit-fixtures.ts';
import { anchorHash, buildPristine, copyOf, type Pristine, resignWithAnotherKey } from '../audit/tamper-cases.ts';

describe('pinning the station key', () => {
  let p: Pristine;
  let resigned: { dir: string; cleanup(): void };
  let publicKeyFile: string;
  before(async () => {
    p = await buildPristine();
    publicKeyFile = join(p.dir, 'station.pub');
    const pem = createPublicKey(readFileSync(join(p.dir, 'audit-signing-key.pem'))).export({ type: 'spki', format: 'pem' });
    writeFileSync(publicKeyFile, pem);
    resigned = copyOf(p);
    resignWithAnotherKey(resigned.dir, p);
  });
  after(() => {
    resigned.cleanup();
    p.cleanup();
  });

  test('a database re-signed with another key verifies unpinned, naming the other key', async () => {
    const r = await imprintCli(['audit', 'verify', '--data', resigned.dir]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /signed by ed25519:[0-9a-f]{16}/);
    assert.doesNotMatch(r.stdout, new RegExp(p.keyId), 'the printed key id is not the station one: what QA compares');
  });

  test('pinned with --key-id or --public-key, the re-signed database fails at the first re-signed summary', async () => {
    const [byId, byKey, original] = await Promise.all([
      imprintCli(['audit', 'verify', '--data', resigned.dir, '--key-id', p.keyId]),
      imprintCli(['audit', 'verify', '--data', resigned.dir, '--public-key', publicKeyFile]),
      imprintCli(['audit', 'verify', '--data', p.dir, '--key-id', p.keyId, '--public-key', publicKeyFile]),
    ]);
    for (const r of [byId, byKey]) {
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`broken at event ${p.closeSeq}: bad batch signature: key ed25519:[0-9a-f]{16} is not a trusted station key`),
      );
    }
    assert.equal(original.code, 0, original.stdout + original.stderr);
  });

  test('an export of the re-signed history fails when pinned, in both formats', async () => {
    const t = AuditTrail.open({ file: join(resigned.dir, 'audit.db'), stationId: STATION, readonly: true });
    const files = (['jsonl', 'csv'] as const).map((format) => {
      const file = join(resigned.dir, `export.${format}`);
      writeFileSync(file, t.export({ format }));
      return file;
    });
    t.close();
    for (const file of files) {
      const [pinned, unpinned] = await Promise.all([
        imprintCli(['audit', 'verify', '--file', file, '--key-id', p.keyId]),
        imprintCli(['audit', 'verify', '--file', file]),
      ]);
      assert.equal(unpinned.code, 0, unpinned.stdout);
      assert.equal(pinned.code, 3, pinned.stdout);
      assert.match(pinned.stdout, new RegExp(`broken at event ${p.closeSeq}: bad batch signature`));
    }
  });

  test('a checkpoint signed by another key fails when pinned', async () => {
    const copy = copyOf(p);
    try {
      // Only the checkpoint re-signed, for the same head: the summaries keep the station key.
      const other = loadOrCreateSigningKey(join(copy.dir, 'other-key'));
      writeFileSync(join(copy.dir, 'audit.head'), checkpointText(makeCheckpoint(other, p.total, anchorHash(p, p.total))));
      const [unpinned, r] = await Promise.all([
        imprintCli(['audit', 'verify', '--data', copy.dir]),
        imprintCli(['audit', 'verify', '--data', copy.dir, '--key-id', p.keyId]),
      ]);
      assert.equal(unpinned.code, 0, unpinned.stdout);
      assert.equal(r.code, 3, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(
          `broken at event ${p.total + 1}: the chain-head checkpoint .* is not valid: it is signed by ed25519:[0-9a-f]{16}, not a trusted station key`,
        ),
      );
    } finally {
      copy.cleanup();
    }
  });

  test('a --key-id that is not a key id, or a --public-key that is not one, is a usage error', async () => {
    const [id, key] = await Promise.all([
      imprintCli(['audit', 'verify', '--data', p.dir, '--key-id', 'line-1']),
      imprintCli(['audit', 'verify', '--data', p.dir, '--public-key', join(p.dir, 'audit.head')]),
    ]);
    assert.equal(id.code, 2);
    assert.match(id.stderr, /INVALID_ARGUMENT: .*\(--key-id/);
    assert.equal(key.code, 2);
    assert.match(key.stderr, /INVALID_ARGUMENT: .*\(--public-key/);
  });
});
