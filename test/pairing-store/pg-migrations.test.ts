// PostgreSQL migrations: numbered, applied once under an advisory lock when instances start together,
// a schema ahead of the code refused, and every earlier version upgraded with its data kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAIRING_COMPONENT, PostgresPairingStore, postgresMigrations } from '../../src/pairing/store/pg-store.ts';
import { freshSchema, withAdmin } from '../helpers/pg-test-db.ts';

const latest = () => postgresMigrations().at(-1)!.version;

test('postgres: migrations are numbered files 1, 2, 3, … in order', () => {
  const versions = postgresMigrations().map((m) => m.version);
  assert.ok(versions.length >= 1);
  assert.deepEqual(
    versions,
    versions.map((_, i) => i + 1),
  );
});

test('postgres: eight instances starting together on an empty database migrate it once, and all of them run', async () => {
  const schema = await freshSchema('mig');
  try {
    const stores = await Promise.all(
      Array.from({ length: 8 }, () => PostgresPairingStore.connect({ url: schema.url, poolSize: 1 })),
    );
    try {
      for (const s of stores) assert.equal(await s.schemaVersion(), latest());
      const rows = await stores[0].sql<
        { component: string; version: number }[]
      >`SELECT component, version FROM imprint_schema_versions`;
      assert.deepEqual(
        rows.map((r) => ({ ...r })),
        [{ component: PAIRING_COMPONENT, version: latest() }],
      );
      await stores[3].realms.create({
        name: 'r',
        publicKeyPem: 'PEM',
        brokerUrl: 'mqtts://b/',
        deviceRegistrationLimit: null,
        deviceIdNamespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
        factory: null,
        createdAt: 'x',
      });
      assert.equal((await stores[6].realms.get('r'))?.name, 'r');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  } finally {
    await schema.drop();
  }
});

test('postgres: a schema written by a newer Imprint is refused and left untouched', async () => {
  const schema = await freshSchema('mig');
  try {
    const s = await PostgresPairingStore.connect({ url: schema.url });
    await s.sql`UPDATE imprint_schema_versions SET version = 999 WHERE component = ${PAIRING_COMPONENT}`;
    await s.close();
    await assert.rejects(PostgresPairingStore.connect({ url: schema.url }), {
      code: 'DB_SCHEMA_TOO_NEW',
      message: /v999.*up to v\d+/,
    });
    const [row] = await withAdmin(
      (sql) => sql.unsafe(`SELECT version FROM ${schema.name}.imprint_schema_versions`) as Promise<{ version: number }[]>,
    );
    assert.equal(row.version, 999);
  } finally {
    await schema.drop();
  }
});

test('postgres: a database of every earlier version (empty included) is upgraded and keeps its data', async () => {
  for (let v = 0; v < latest(); v++) {
    const schema = await freshSchema('mig');
    try {
      if (v > 0) {
        const old = await PostgresPairingStore.connect({ url: schema.url, upTo: v });
        assert.equal(await old.schemaVersion(), v);
        // Rows as every version since 1 has them.
        await old.sql`INSERT INTO realms (name, public_key_pem, broker_url, device_id_namespace, created_at)
                      VALUES ('r', 'PEM', 'mqtts://b/', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8', 'x')`;
        await old.sql`INSERT INTO devices (realm, device_id, secret_hash) VALUES ('r', 'AJInS0w3VpWpuOqkXhgZdA', 'h')`;
        await old.close();
      }
      const s = await PostgresPairingStore.connect({ url: schema.url });
      try {
        assert.equal(await s.schemaVersion(), latest(), `from v${v}`);
        if (v > 0) assert.equal((await s.devices.get('r', 'AJInS0w3VpWpuOqkXhgZdA'))?.secretHash, 'h');
      } finally {
        await s.close();
      }
    } finally {
      await schema.drop();
    }
  }
});

test('postgres: a store URL that turns synchronous_commit off is refused', async () => {
  const schema = await freshSchema('mig');
  try {
    const url = new URL(schema.url);
    url.searchParams.set('synchronous_commit', 'off');
    await assert.rejects(PostgresPairingStore.connect({ url: url.toString() }), { code: 'DB_NOT_DURABLE' });
    const s = await PostgresPairingStore.connect({ url: schema.url });
    assert.equal(s.durability(), 'synchronous_commit=on');
    await s.close();
  } finally {
    await schema.drop();
  }
});
