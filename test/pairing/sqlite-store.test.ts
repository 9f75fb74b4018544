// What only the embedded SQLite store promises: its file settings, its migrations from every earlier
// version, group commit with a savepoint per write. (The behaviour both engines share is in
// test/pairing-store/.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isDbError } from '../../src/db/db-errors.ts';
import { migrateSqlite } from '../../src/db/sqlite.ts';
import { emptyDeviceRow } from '../../src/pairing/store/rows.ts';
import { SqliteDeviceRows } from '../../src/pairing/store/sqlite-devices.ts';
import { SqlitePairingStore, sqliteMigrations } from '../../src/pairing/store/sqlite-store.ts';
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

const latest = () => sqliteMigrations().at(-1)!.version;
const at = '2026-01-01T00:00:00.000Z';
const register = (store: SqlitePairingStore, deviceId: string) =>
  store.devices.register({ realm: 'test', deviceId, secretHash: `h-${deviceId}`, initialIntrospection: null, at });

/** Replaces fs.fdatasync (as the store's modules see it) while `fn` runs. */
async function withFdatasync(fake: typeof fs.fdatasync, fn: () => Promise<void>): Promise<void> {
  const real = fs.fdatasync;
  fs.fdatasync = fake;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    fs.fdatasync = real;
    syncBuiltinESMExports();
  }
}

test(
  'a write is acknowledged only once the WAL holding it is fdatasynced (off the event loop)',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    assert.equal(store.journalMode(), 'WAL');
    assert.equal(store.durability(), 'synchronous=NORMAL+wal-fdatasync-before-ack');
    await store.realms.create(realm);
    const synced: string[] = [];
    let release: (() => void) | undefined;
    await withFdatasync(
      ((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
        synced.push(readlinkSync(`/proc/self/fd/${fd}`));
        release = () => fs.fdatasyncSync(fd) === undefined && cb(null);
      }) as unknown as typeof fs.fdatasync,
      async () => {
        let acknowledged = false;
        const write = register(store, 'dev-1').then(() => {
          acknowledged = true;
        });
        for (let i = 0; i < 500 && !release; i++) await new Promise((r) => setTimeout(r, 2));
        assert.ok(release, 'the write asked for an fdatasync of the WAL');
        // Committed to the WAL, visible, but not yet acknowledged: its fdatasync has not returned.
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(acknowledged, false);
        assert.deepEqual(synced, [`${file}-wal`]);
        release();
        await write;
        assert.equal(acknowledged, true);
      },
    );
    await store.close();
  }),
);

test(
  'a failed WAL fdatasync fails its writes and every later one (nothing more is acknowledged)',
  withStoreDir(async (dir) => {
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    await store.realms.create(realm);
    await withFdatasync(
      ((_fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
        setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
      }) as unknown as typeof fs.fdatasync,
      async () => {
        await assert.rejects(register(store, 'dev-1'), (e) => isDbError(e, 'DB_WRITE_FAILED'));
      },
    );
    // The disk answers again, but what the kernel dropped cannot be known: the store stays failed.
    await assert.rejects(register(store, 'dev-2'), (e) => isDbError(e, 'DB_WRITE_FAILED'));
    // Health says so (a load balancer takes the instance out of rotation): /health answers 503.
    const h = await store.health();
    assert.equal(h.ok, false);
    assert.match(h.error ?? '', /WAL fdatasync failed \(EIO/);
    await store.close();
  }),
);

test(
  'migrations are numbered files applied in order from an empty database',
  withStoreDir(async (dir) => {
    const versions = sqliteMigrations().map((m) => m.version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
    );
    const store = SqlitePairingStore.open(join(dir, 'p.sqlite'));
    assert.equal(await store.schemaVersion(), latest());
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
      'core_audit_events',
      'core_audit_head',
      'device_imports',
      'devices',
      'enrolled_stations',
      'meta',
      'realm_device_counts',
      'realms',
      'sign_registrations',
    ]);
    db.close();
  }),
);

test(
  'a database of every earlier version is migrated to the latest schema and keeps its data',
  withStoreDir(async (dir) => {
    for (let v = 1; v < latest(); v++) {
      const file = join(dir, `v${v}.sqlite`);
      const db = new Database(file);
      assert.equal(migrateSqlite(db, sqliteMigrations(), 'test', v), v);
      db.prepare(
        `INSERT INTO realms (name, public_key_pem, broker_url, device_id_namespace, created_at) VALUES ('test', 'PEM', 'mqtts://b/', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8', 'x')`,
      ).run();
      db.prepare(
        `INSERT INTO devices (realm, device_id, secret_hash, inhibited) VALUES ('test', 'AJInS0w3VpWpuOqkXhgZdA', 'h', 1), ('test', 'BJInS0w3VpWpuOqkXhgZdA', NULL, 0)`,
      ).run();
      db.close();
      const store = SqlitePairingStore.open(file);
      assert.equal(await store.schemaVersion(), latest(), `from v${v}`);
      assert.equal((await store.realms.get('test'))?.brokerUrl, 'mqtts://b/');
      const d = await store.devices.get('test', 'AJInS0w3VpWpuOqkXhgZdA');
      assert.equal(d?.secretHash, 'h');
      assert.equal(d?.inhibited, true);
      assert.equal(await store.devices.count('test'), 2, `from v${v}: every device row counted`);
      assert.equal(await store.certificates.isRevoked('aa'), false);
      assert.equal(await register(store, 'CJInS0w3VpWpuOqkXhgZdA'), 'registered', `from v${v}: writable`);
      assert.equal(await store.devices.count('test'), 3);
      await store.close();
    }
  }),
);

test(
  'a database from a newer version is refused with a clear error',
  withStoreDir((dir) => {
    const file = join(dir, 'p.sqlite');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    assert.throws(() => SqlitePairingStore.open(file), { code: 'DB_SCHEMA_TOO_NEW', message: /v999.*up to v\d+/ });
  }),
);

test(
  'concurrent registrations commit as one batch; a refused one changes nothing',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    await store.realms.create({ ...realm, deviceRegistrationLimit: 99 });
    const ids = Array.from({ length: 100 }, (_, i) => `dev${String(i).padStart(19, '0')}`);
    const before = store.commitStats();
    const results = await Promise.all(ids.map((id) => register(store, id)));
    const after = store.commitStats();
    assert.equal(after.writes - before.writes, 100);
    assert.equal(after.batches - before.batches, 1, 'one transaction for the whole turn');
    assert.equal(results.filter((r) => r === 'registered').length, 99);
    assert.equal(results[99], 'limit');
    assert.equal(await store.devices.get('test', ids[99]), undefined);
    await store.close();
    const again = SqlitePairingStore.open(file);
    assert.equal(await again.devices.count('test'), 99);
    await again.close();
  }),
);

test(
  'close commits writes still queued; writes after close are refused',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    await store.realms.create(realm);
    const pending = register(store, 'AJInS0w3VpWpuOqkXhgZdA');
    await store.close();
    assert.equal(await pending, 'registered');
    await assert.rejects(register(store, 'BJInS0w3VpWpuOqkXhgZdA'), { code: 'DB_CLOSED' });
    const again = SqlitePairingStore.open(file);
    assert.ok(await again.devices.get('test', 'AJInS0w3VpWpuOqkXhgZdA'));
    await again.close();
  }),
);

test(
  'a v3 database (counts of devices holding a secret) is migrated to counts of device rows',
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const db = new Database(file);
    assert.equal(migrateSqlite(db, sqliteMigrations(), 'test', 3), 3);
    db.prepare(
      `INSERT INTO realms (name, public_key_pem, broker_url, device_id_namespace, created_at) VALUES ('test', 'PEM', 'mqtts://b/', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8', 'x')`,
    ).run();
    db.prepare(`INSERT INTO devices (realm, device_id, secret_hash) VALUES ('test', 'a', 'h'), ('test', 'b', NULL)`).run();
    assert.equal(db.prepare(`SELECT registered FROM realm_device_counts WHERE realm = 'test'`).pluck().get(), 1);
    db.close();
    const store = SqlitePairingStore.open(file);
    assert.equal(await store.devices.count('test'), 2);
    await register(store, 'c');
    assert.equal(await store.devices.count('test'), 3);
    await store.close();
  }),
);

test(
  'the store reports its off-loop WAL checkpoints in its metrics',
  withStoreDir(async (dir) => {
    const store = SqlitePairingStore.open(join(dir, 'pairing.sqlite'));
    try {
      await store.realms.create(realm);
      await register(store, 'AJInS0w3VpWpuOqkXhgZdA');
      const m = store.metricsText();
      assert.match(m, /^imprint_pairing_store_wal_checkpoints_total\{engine="sqlite"\} 0$/m);
      assert.match(m, /^imprint_pairing_store_wal_checkpoint_thread_up\{engine="sqlite"\} 1$/m);
    } finally {
      await store.close();
    }
  }),
);

test(
  "a device read sees every change to its row: this store's writes and another connection's commits",
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    const store = SqlitePairingStore.open(file);
    const other = new Database(file);
    try {
      await store.realms.create(realm);
      const id = 'AJInS0w3VpWpuOqkXhgZdA';
      await register(store, id);
      const first = await store.devices.get('test', id);
      assert.equal(first?.secretHash, `h-${id}`);
      assert.equal(await store.devices.get('test', id), first, 'an unchanged row is read once and handed out again');
      assert.throws(() => {
        (first as { inhibited: boolean }).inhibited = true;
      }, TypeError);

      await store.devices.setInhibited('test', id, true);
      assert.equal((await store.devices.get('test', id))?.inhibited, true);
      await store.devices.setInhibited('test', id, false);
      await store.devices.recordCredentials({
        realm: 'test',
        deviceId: id,
        secretHash: `h-${id}`,
        serialHex: '0a',
        notAfter: at,
        at,
      });
      assert.equal((await store.devices.get('test', id))?.certificateSerial, '0a');
      await store.devices.unregister('test', id);
      assert.equal((await store.devices.get('test', id))?.secretHash, null);
      await store.devices.register({ realm: 'test', deviceId: id, secretHash: 'h-new', initialIntrospection: null, at });
      assert.equal((await store.devices.get('test', id))?.secretHash, 'h-new');

      // e.g. `imprint pairing device inhibit` run while `imprint pairing serve` holds the store open.
      other.prepare('UPDATE devices SET inhibited = 1 WHERE device_id = ?').run(id);
      assert.equal((await store.devices.get('test', id))?.inhibited, true);
      other.prepare('UPDATE devices SET secret_hash = ?, inhibited = 0 WHERE device_id = ?').run('h-other', id);
      const now = await store.devices.get('test', id);
      assert.deepEqual([now?.secretHash, now?.inhibited], ['h-other', false]);
      other.prepare('DELETE FROM devices WHERE device_id = ?').run(id);
      assert.equal(await store.devices.get('test', id), undefined);
      // One read from the cache (the second above); every other one read the database.
      const m = store.metricsText();
      assert.match(m, /^imprint_pairing_store_device_cache_hits_total\{engine="sqlite"\} 1$/m);
      assert.match(m, /^imprint_pairing_store_device_cache_misses_total\{engine="sqlite"\} 8$/m);
    } finally {
      other.close();
      await store.close();
    }
  }),
);

test(
  "device reads check for other connections' commits only once the WAL-index moved, and see another process's commit",
  withStoreDir(async (dir) => {
    const file = join(dir, 'p.sqlite');
    // Opened through a symbolic link: SQLite keeps the -shm file next to the real file, and so must the cache look.
    const link = join(dir, 'link.sqlite');
    symlinkSync(file, link);
    const store = SqlitePairingStore.open(file);
    await store.realms.create(realm);
    await store.close();
    const linked = SqlitePairingStore.open(link);
    const checks = () =>
      Number(/^imprint_pairing_store_device_cache_version_checks_total\{[^}]*\} (\d+)$/m.exec(linked.metricsText())?.[1]);
    const otherProcess = (sql: string) => {
      const r = spawnSync(
        process.execPath,
        [
          '-e',
          `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.prepare(process.argv[2]).run(); db.close();`,
          file,
          sql,
        ],
        {
          encoding: 'utf8',
          timeout: 30_000,
          cwd: process.cwd(),
        },
      );
      assert.equal(r.status, 0, r.stderr);
    };
    try {
      const id = 'AJInS0w3VpWpuOqkXhgZdA';
      await register(linked, id);
      assert.equal((await linked.devices.get('test', id))?.inhibited, false);
      const before = checks();
      for (let i = 0; i < 5; i++) assert.equal((await linked.devices.get('test', id))?.inhibited, false);
      assert.equal(checks(), before, 'no commit since: the pragma did not run again');

      otherProcess(`UPDATE devices SET inhibited = 1 WHERE device_id = '${id}'`);
      assert.equal((await linked.devices.get('test', id))?.inhibited, true, "another process's commit is seen at once");
      assert.equal(checks(), before + 1);
      otherProcess(`UPDATE devices SET secret_hash = 'h-other' WHERE device_id = '${id}'`);
      assert.equal((await linked.devices.get('test', id))?.secretHash, 'h-other');
      otherProcess(`DELETE FROM devices WHERE device_id = '${id}'`);
      assert.equal(await linked.devices.get('test', id), undefined);
      // This store's own commit moves the index too: checked once, and the cache keeps what it holds.
      await register(linked, 'BJInS0w3VpWpuOqkXhgZdA');
      await linked.devices.get('test', 'BJInS0w3VpWpuOqkXhgZdA');
      const after = checks();
      await linked.devices.get('test', 'BJInS0w3VpWpuOqkXhgZdA');
      assert.equal(checks(), after);
      assert.match(linked.metricsText(), /^imprint_pairing_store_device_cache_hits_total\{[^}]*\} [1-9]\d*$/m);
    } finally {
      await linked.close();
    }
  }),
);

test(
  'a device write rolled back leaves reads on the committed row, and reads inside a write see the write',
  withStoreDir((dir) => {
    const db = new Database(join(dir, 'p.sqlite'));
    try {
      migrateSqlite(db, sqliteMigrations(), 'test');
      const rows = new SqliteDeviceRows(db);
      rows.insertRealm(realm);
      const id = 'AJInS0w3VpWpuOqkXhgZdA';
      db.transaction(() => rows.putDevice({ ...emptyDeviceRow('test', id), secretHash: 'h' }))();
      assert.equal(rows.readDevice('test', id)?.inhibited, false);
      assert.throws(
        db.transaction(() => {
          rows.putDevice({ ...emptyDeviceRow('test', id), secretHash: 'h', inhibited: true });
          assert.equal(rows.readDevice('test', id)?.inhibited, true, 'the transaction sees its own write');
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal(rows.readDevice('test', id)?.inhibited, false);
      assert.equal(rows.getDevice('test', id)?.inhibited, false);
    } finally {
      db.close();
    }
  }),
);
