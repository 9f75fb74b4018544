import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { DeviceRow } from '../../src/pairing/pairing-store.ts';
import { loadMigrations, migrate, SqlitePairingStore } from '../../src/pairing/sqlite-store.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';

function withStoreDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = makeTempDir();
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const realm = {
  name: 'test',
  publicKeyPem: 'PEM',
  brokerUrl: 'mqtts://b/',
  deviceRegistrationLimit: null,
  deviceIdNamespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
  factory: null,
  createdAt: '2026-01-01T00:00:00.000Z',
};

function device(id: string, secretHash: string | null = 'h'): DeviceRow {
  return {
    realm: 'test',
    deviceId: id,
    secretHash,
    inhibited: false,
    firstRegistrationAt: '2026-01-01T00:00:00.000Z',
    lastRegistrationAt: '2026-01-01T00:00:00.000Z',
    firstCredentialsRequestAt: null,
    lastCredentialsRequestAt: null,
    certificateSerial: null,
    certificateNotAfter: null,
    initialIntrospection: { 'org.example.Sensor': { major: 1, minor: 2 } },
  };
}

const latest = () => loadMigrations().at(-1)!.version;

test(
  'the store runs in WAL with synchronous=FULL',
  withStoreDir(async (dir) => {
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    assert.equal(store.durability(), 'FULL');
    assert.equal(store.journalMode(), 'WAL');
    await store.close();
  }),
);

test(
  'migrations are numbered files applied in order from an empty database',
  withStoreDir(async (dir) => {
    const versions = loadMigrations().map((m) => m.version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
    );
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    assert.equal(store.schemaVersion(), latest());
    await store.close();
    const db = new Database(join(dir, 'p.sqlite'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), latest());
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, [
      'central_audit_events',
      'central_audit_heads',
      'certificates',
      'claim_tokens',
      'claims',
      'device_imports',
      'devices',
      'meta',
      'realm_device_counts',
      'realms',
      'sign_registrations',
    ]);
    db.close();
  }),
);

test(
  'a v1 database is migrated to the latest schema and keeps its data',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const db = new Database(file);
    assert.equal(migrate(db, 1), 1);
    db.prepare(
      `INSERT INTO realms (name, public_key_pem, broker_url, device_id_namespace, created_at) VALUES ('test', 'PEM', 'mqtts://b/', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8', 'x')`,
    ).run();
    db.prepare(
      `INSERT INTO devices (realm, device_id, secret_hash, inhibited) VALUES ('test', 'AJInS0w3VpWpuOqkXhgZdA', 'h', 1)`,
    ).run();
    db.close();
    const store = SqlitePairingStore.open(file);
    assert.equal(store.schemaVersion(), latest());
    assert.equal(store.getRealm('test')?.brokerUrl, 'mqtts://b/');
    const d = store.getDevice('test', 'AJInS0w3VpWpuOqkXhgZdA');
    assert.equal(d?.secretHash, 'h');
    assert.equal(d?.inhibited, true);
    assert.equal(store.isRevoked('aa'), false, 'the v2 certificates table exists');
    assert.equal(store.countDevices('test'), 1, 'the device counts were computed for existing devices');
    await store.close();
  }),
);

test(
  'a database from a newer version is refused with a clear error',
  withStoreDir((dir) => {
    const file = join(dir, 'p.sqlite');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    assert.throws(() => SqlitePairingStore.open(file), /newer than this version supports/);
  }),
);

test(
  'concurrent writes commit as one batch; a failing op rejects only its caller and leaves nothing behind',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    store.createRealm(realm);
    const ids = Array.from({ length: 100 }, (_, i) => `dev${String(i).padStart(19, '0')}`);
    const before = store.commitStats();
    const results = await Promise.allSettled(
      ids.map((id, i) =>
        store.write((tx) => {
          tx.putDevice(device(id));
          if (i === 50) throw new Error('op 50 fails after writing');
          return i;
        }),
      ),
    );
    const after = store.commitStats();
    assert.equal(after.writes - before.writes, 100);
    assert.equal(after.batches - before.batches, 1, 'one transaction for the whole turn');
    assert.equal(results[50].status, 'rejected');
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 99);
    assert.equal(store.getDevice('test', ids[50]), undefined, 'the failed op was rolled back');
    await store.close();
    const again = SqlitePairingStore.open(file);
    assert.equal(again.countDevices('test'), 99);
    assert.deepEqual(again.getDevice('test', ids[0])?.initialIntrospection, { 'org.example.Sensor': { major: 1, minor: 2 } });
    await again.close();
  }),
);

test(
  'close commits writes still queued; writes after close are refused',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    store.createRealm(realm);
    const pending = store.write((tx) => tx.putDevice(device('AJInS0w3VpWpuOqkXhgZdA')));
    await store.close();
    await pending;
    assert.throws(() => store.write(() => 1), /closed/);
    const again = SqlitePairingStore.open(file);
    assert.ok(again.getDevice('test', 'AJInS0w3VpWpuOqkXhgZdA'));
    await again.close();
  }),
);

test(
  'revocations are recorded once and counted for the CRL number',
  withStoreDir(async (dir) => {
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    store.createRealm(realm);
    await store.write((tx) => {
      tx.recordCertificate({ serialHex: 'AB01', realm: 'test', deviceId: 'd', issuedAt: 'x', notAfter: 'y' });
      tx.revokeCertificate('ab01', '2026-01-02T00:00:00.000Z', 'superseded');
      tx.revokeCertificate('ab01', '2026-01-03T00:00:00.000Z', 'superseded');
    });
    assert.equal(store.isRevoked('AB01'), true);
    assert.equal(store.revocationCount(), 1);
    assert.deepEqual(store.listRevoked(), [{ serialHex: 'ab01', revokedAt: '2026-01-02T00:00:00.000Z', reason: 'superseded' }]);
    await store.close();
  }),
);

test(
  'the device count (for the registration limit) counts every device row, unregistered ones included',
  withStoreDir(async (dir) => {
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    store.createRealm(realm);
    store.createRealm({ ...realm, name: 'other' });
    assert.equal(store.countDevices('test'), 0);
    await store.write((tx) => {
      tx.putDevice(device('a'));
      tx.putDevice(device('b'));
      tx.putDevice(device('c', null));
      tx.putDevice({ ...device('a'), secretHash: 'h2' });
    });
    assert.equal(store.countDevices('test'), 3);
    await store.write((tx) => {
      tx.putDevice(device('a', null));
      tx.putDevice(device('c'));
    });
    assert.equal(store.countDevices('test'), 3);
    assert.equal(store.countDevices('other'), 0);
    assert.equal(store.countDevices('missing'), 0);
    await store.close();
  }),
);

test(
  'a v3 database (counts of devices holding a secret) is migrated to counts of device rows',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const db = new Database(file);
    assert.equal(migrate(db, 3), 3);
    db.prepare(
      `INSERT INTO realms (name, public_key_pem, broker_url, device_id_namespace, created_at) VALUES ('test', 'PEM', 'mqtts://b/', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8', 'x')`,
    ).run();
    db.prepare(`INSERT INTO devices (realm, device_id, secret_hash) VALUES ('test', 'a', 'h'), ('test', 'b', NULL)`).run();
    assert.equal(db.prepare(`SELECT registered FROM realm_device_counts WHERE realm = 'test'`).pluck().get(), 1);
    db.close();
    const store = SqlitePairingStore.open(file);
    assert.equal(store.countDevices('test'), 2);
    await store.write((tx) => tx.putDevice(device('c', null)));
    assert.equal(store.countDevices('test'), 3);
    await store.close();
  }),
);
