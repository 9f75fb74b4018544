// Credentials records on PostgreSQL are group-committed (store/pg-credentials.ts): many requests, one
// transaction. These check what the grouping must not change, with two instances (two pools) writing at
// once: every device ends with exactly one valid certificate, the one it records, each superseded one
// revoked once; each request in a batch gets its own outcome; a request that fails does not fail the
// others; device reads, grouped too, answer each request with its own row. Fails, never skips,
// without PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CredentialsRecord, PairingStore } from '../../src/pairing/pairing-store.ts';
import { PostgresPairingStore } from '../../src/pairing/store/pg-store.ts';
import { freshSchema, type TestSchema, withAdmin } from '../helpers/pg-test-db.ts';

const AT = '2026-01-01T00:00:00.000Z';
let schema: TestSchema;
let a: PostgresPairingStore;
let b: PostgresPairingStore;

before(async () => {
  schema = await freshSchema('creds');
  [a, b] = await Promise.all([0, 1].map(() => PostgresPairingStore.connect({ url: schema.url, poolSize: 4 })));
  await a.realms.create({
    name: 'r',
    publicKeyPem: 'k',
    brokerUrl: 'mqtts://b:8883/',
    deviceRegistrationLimit: null,
    deviceIdNamespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
    factory: null,
    createdAt: AT,
  });
});

after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await schema?.drop();
});

const dev = (n: number) => `dev${String(n).padStart(19, '0')}`;
const record = (deviceId: string, secretHash: string, serialHex: string): CredentialsRecord => ({
  realm: 'r',
  deviceId,
  secretHash,
  serialHex,
  notAfter: '2027-01-01T00:00:00.000Z',
  at: AT,
});
const register = (s: PairingStore, deviceId: string, secretHash: string) =>
  s.devices.register({ realm: 'r', deviceId, secretHash, initialIntrospection: null, at: AT });

test('concurrent requests on two instances, each device several times: one valid certificate per device, the one it records', async () => {
  const devices = Array.from({ length: 60 }, (_, i) => dev(i));
  for (const d of devices) await register(a, d, `h-${d}`);
  const before = a.commitStats();
  // Every device four times, two on each instance, all in flight at once.
  const jobs = devices.flatMap((d, i) =>
    [0, 1, 2, 3].map((k) => (k % 2 ? b : a).devices.recordCredentials(record(d, `h-${d}`, `${i.toString(16)}f${k}`))),
  );
  assert.deepEqual(new Set(await Promise.all(jobs)), new Set(['issued']));
  const afterStats = a.commitStats();
  const rows = await withAdmin((sql) =>
    sql.unsafe(`SELECT device_id, serial, revoked_at FROM ${schema.name}.certificates WHERE realm = 'r' ORDER BY serial`),
  );
  assert.equal(rows.length, devices.length * 4);
  for (const d of devices) {
    const valid = rows.filter((r) => r.device_id === d && r.revoked_at === null);
    assert.equal(valid.length, 1, `${d}: exactly one certificate not revoked`);
    assert.equal((await b.devices.get('r', d))?.certificateSerial, valid[0].serial, `${d}: the device records it`);
  }
  assert.equal(await b.certificates.revocationCount(), devices.length * 3);
  assert.equal(afterStats.writes - before.writes, devices.length * 2);
  assert.ok(afterStats.batches - before.batches < devices.length * 2, 'the requests were grouped into fewer commits');
});

test('one batch, each request its own outcome: issued, stale, inhibited, unknown device', async () => {
  await register(a, dev(100), 'h100');
  await register(a, dev(101), 'h101');
  await register(a, dev(102), 'h102');
  await b.devices.setInhibited('r', dev(102), true);
  const out = await Promise.all([
    a.devices.recordCredentials(record(dev(100), 'h100', 'a100')),
    a.devices.recordCredentials(record(dev(101), 'wrong', 'a101')),
    a.devices.recordCredentials(record(dev(102), 'h102', 'a102')),
    a.devices.recordCredentials(record(dev(103), 'h103', 'a103')),
  ]);
  assert.deepEqual(out, ['issued', 'stale', 'inhibited', 'stale']);
  assert.equal((await a.certificates.get('a100'))?.deviceId, dev(100));
  for (const s of ['a101', 'a102', 'a103']) assert.equal(await a.certificates.get(s), undefined, `${s} not recorded`);
  const d101 = await a.devices.get('r', dev(101));
  assert.equal(d101?.firstCredentialsRequestAt, null, 'a stale request confirms nothing');
});

test('a request that fails (its serial is already recorded) fails alone; the others of its batch are recorded', async () => {
  await register(a, dev(200), 'h200');
  await register(a, dev(201), 'h201');
  await register(a, dev(202), 'h202');
  assert.equal(await a.devices.recordCredentials(record(dev(200), 'h200', 'dd00')), 'issued');
  const out = await Promise.allSettled([
    a.devices.recordCredentials(record(dev(201), 'h201', 'dd01')),
    a.devices.recordCredentials(record(dev(202), 'h202', 'DD00')),
    a.devices.recordCredentials(record(dev(200), 'h200', 'dd02')),
  ]);
  assert.equal(out[0].status, 'fulfilled');
  assert.equal(out[1].status, 'rejected', 'a serial recorded twice is refused');
  assert.equal(out[2].status, 'fulfilled');
  assert.equal((await a.devices.get('r', dev(201)))?.certificateSerial, 'dd01');
  assert.equal((await a.devices.get('r', dev(202)))?.certificateSerial, null, 'nothing recorded for the failed request');
  assert.equal((await a.devices.get('r', dev(200)))?.certificateSerial, 'dd02');
  assert.equal(await a.certificates.isRevoked('dd00'), true);
});

test('device reads in flight together are one query, each answered with its own row', async () => {
  const ids = Array.from({ length: 30 }, (_, i) => dev(300 + i));
  for (const [i, d] of ids.entries()) if (i % 3 !== 0) await register(a, d, `h-${d}`);
  const got = await Promise.all([...ids, ...ids].map((d) => b.devices.get('r', d)));
  got.forEach((row, n) => {
    const i = n % ids.length;
    if (i % 3 === 0) assert.equal(row, undefined, `${ids[i]} is unknown`);
    else assert.deepEqual([row?.deviceId, row?.secretHash], [ids[i], `h-${ids[i]}`]);
  });
  assert.equal((await a.devices.get('other-realm', ids[1])) ?? null, null, 'the realm is part of the key');
  // A read that starts after a write was acknowledged (on either instance) sees it.
  await register(b, ids[0], 'late');
  assert.equal((await a.devices.get('r', ids[0]))?.secretHash, 'late');
});
