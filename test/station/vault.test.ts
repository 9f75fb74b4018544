// The sealed write-ahead vault: key file outside the database with mode 0600, records sealed
// (no plaintext secret anywhere in station.db or its WAL), bound to their device, and refused
// with a clear error when the key is missing, insecure or wrong.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { secretDigest } from '../../src/serial/device-types.ts';
import { SecretVault } from '../../src/station/secret-vault.ts';
import { StationDb } from '../../src/station/station-db.ts';
import { tempDir } from './station-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fresh() {
  const dir = tempDir('imprint-vault-');
  dirs.push(dir);
  const db = StationDb.open(join(dir, 'station.db'));
  return { dir, db, keyFile: join(dir, 'station.key') };
}

const input = (n: number) => ({ deviceId: `dev${n}`.padEnd(22, 'A'), hardwareSerial: `SN${n}`, fixture: 'f1' });

function filesUnder(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith('station.db'))
      .map((f) => readFileSync(join(dir, f))),
  );
}

test('the station key is a separate 0600 file and records are sealed: no plaintext secret in the database', async () => {
  const { dir, db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const secrets = Array.from({ length: 5 }, () => randomBytes(32).toString('base64'));
  const records = await Promise.all(secrets.map((s, i) => vault.put(input(i), s)));
  for (const [i, r] of records.entries()) assert.equal(r.digest, secretDigest(secrets[i]));
  const bytes = filesUnder(dir);
  for (const s of secrets) {
    assert.equal(bytes.includes(Buffer.from(s)), false, 'plaintext secret found in station.db');
    assert.equal(bytes.includes(Buffer.from(s, 'base64')), false, 'raw secret bytes found in station.db');
  }
  // The key itself is not in the database either.
  assert.equal(bytes.includes(readFileSync(keyFile)), false);
  // Sealed records open again with the key.
  const pending = vault.pending();
  assert.deepEqual(
    pending.map((p) => vault.reveal(p)),
    secrets,
  );
  db.close();
});

test('a confirmed record is wiped (secure_delete) and the device enters the registry', () => {
  const { dir, db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  const secret = randomBytes(32).toString('base64');
  const rec = vault.putSync(input(1), secret);
  const sealed = Buffer.from(vault.pending()[0].sealed);
  vault.confirm(rec.vaultId, {
    ...input(1),
    digest: rec.digest,
    fingerprint: rec.fingerprint,
    writtenAt: new Date().toISOString(),
  });
  assert.equal(vault.pending().length, 0);
  assert.equal(db.device(input(1).deviceId)?.state, 'written');
  db.close(); // checkpoints the WAL
  assert.equal(filesUnder(dir).includes(sealed), false, 'the sealed record is overwritten, not left in a free page');
});

test('a record is bound to its device: moved to another device id it does not open', () => {
  const { db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  vault.putSync(input(1), randomBytes(32).toString('base64'));
  const row = vault.pending()[0];
  assert.throws(() => vault.reveal({ ...row, deviceId: input(2).deviceId }), { code: 'VAULT_RECORD_INVALID' });
  db.close();
});

test('missing key with pending records: VAULT_KEY_MISSING, nothing is overwritten', () => {
  const { db, keyFile } = fresh();
  SecretVault.open({ keyFile, db }).putSync(input(1), randomBytes(32).toString('base64'));
  rmSync(keyFile);
  assert.throws(() => SecretVault.open({ keyFile, db }), { code: 'VAULT_KEY_MISSING' });
  assert.equal(existsSync(keyFile), false, 'a new key is not made while old records wait');
  assert.equal(db.vaultCount(), 1);
  db.close();
});

test('a key readable by others is refused; a wrong key does not open records', () => {
  const { db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  vault.putSync(input(1), randomBytes(32).toString('base64'));
  chmodSync(keyFile, 0o644);
  assert.throws(() => SecretVault.open({ keyFile, db }), { code: 'VAULT_KEY_INSECURE' });
  chmodSync(keyFile, 0o600);
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const other = SecretVault.open({ keyFile, db });
  assert.throws(
    () => other.reveal(other.pending()[0]),
    (e: Error) => {
      assert.equal((e as { code?: string }).code, 'VAULT_RECORD_INVALID');
      return true;
    },
  );
  db.close();
});

test('records put together share one commit; one bad record fails alone, the others are durable', async () => {
  const { dir, db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  const secrets = Array.from({ length: 12 }, () => randomBytes(32).toString('base64'));
  // Record 5 lacks its hardware serial (NOT NULL): it is refused inside the batch, by its own savepoint.
  const bad = { ...input(5), hardwareSerial: null as unknown as string };
  const results = await Promise.allSettled(secrets.map((s, i) => vault.put(i === 5 ? bad : input(i), s)));
  const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  assert.deepEqual(refused, [5]);
  assert.equal((results[5] as PromiseRejectedResult).reason.code, 'VAULT_WRITE_FAILED');
  const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.vaultId] : []));
  assert.equal(new Set(ids).size, 11, 'each record its own row');
  db.close();
  // Reopened from the disk: the eleven records, each opening to its own secret.
  const again = StationDb.open(join(dir, 'station.db'));
  const reopened = SecretVault.open({ keyFile, db: again });
  const pending = reopened.pending();
  assert.deepEqual(
    pending.map((p) => p.id),
    ids,
  );
  assert.deepEqual(
    pending.map((p) => reopened.reveal(p)),
    secrets.filter((_, i) => i !== 5),
  );
  again.close();
});

test('a record is acknowledged only once its WAL frames are fsynced', async () => {
  const dir = tempDir('imprint-vault-');
  dirs.push(dir);
  const syncs: (() => void)[] = [];
  const db = StationDb.open(join(dir, 'station.db'), {
    walSync: { sync: () => new Promise<void>((resolve) => syncs.push(resolve)), close: () => {} },
  });
  const vault = SecretVault.open({ keyFile: join(dir, 'station.key'), db });
  let acknowledged = false;
  const put = vault.put(input(1), randomBytes(32).toString('base64')).then((r) => {
    acknowledged = true;
    return r;
  });
  while (syncs.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(db.vaultCount(), 1, 'committed');
  await new Promise((r) => setImmediate(r));
  assert.equal(acknowledged, false, 'not fsynced yet: not acknowledged');
  syncs[0]();
  assert.equal((await put).vaultId, db.vaultRecords()[0].id);
  db.close();
});

test('after a failed WAL fsync no record is acknowledged any more (VAULT_WRITE_FAILED with the errno)', async () => {
  const dir = tempDir('imprint-vault-');
  dirs.push(dir);
  let calls = 0;
  const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  const db = StationDb.open(join(dir, 'station.db'), {
    walSync: { sync: () => (++calls === 1 ? Promise.reject(eio) : Promise.resolve()), close: () => {} },
  });
  const vault = SecretVault.open({ keyFile: join(dir, 'station.key'), db });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      vault.put(input(i), randomBytes(32).toString('base64')),
      (e: Error & { code?: string; cause?: unknown }) => {
        assert.equal(e.code, 'VAULT_WRITE_FAILED');
        assert.equal((e.cause as { code?: string }).code, 'EIO');
        return true;
      },
    );
  }
  assert.equal(calls, 1, 'the second record is refused without another fsync');
  db.close();
});

test('the registry writes beside the vault writer still checkpoint: the WAL does not grow without bound', async () => {
  const { db, keyFile } = fresh();
  const vault = SecretVault.open({ keyFile, db });
  // One record through the writer (its commits are fsynced off the loop), then only registry writes.
  const put = await vault.put(input(0), randomBytes(32).toString('base64'));
  assert.equal(db.db.pragma('wal_autocheckpoint', { simple: true }), 1000, "SQLite's own checkpoint stays on");
  const row = (n: number) => ({
    deviceId: `reg${n}`.padEnd(22, 'A'),
    hardwareSerial: `SN${n}`,
    digest: randomBytes(32).toString('hex'),
    fingerprint: 'f',
    fixture: 'f1',
    writtenAt: new Date().toISOString(),
  });
  vault.confirm(put.vaultId, row(0));
  for (let n = 1; n < 1500; n++) vault.confirm(undefined, row(n));
  // A checkpoint has copied frames into the database file: the WAL restarted from its start.
  const [{ log }] = db.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  assert.ok(log < 1000, `${log} frames in the WAL`);
  db.close();
});
