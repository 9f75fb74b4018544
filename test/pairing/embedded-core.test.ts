import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { EmbeddedPairingCore, newSerialHex, PAIRING_CORE_VERSION } from '../../src/pairing/embedded-core.ts';
import { isPairingError, makeTempDir, openTestCore } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

test('a registered device gets a 44-char Base64 secret that answers info as pending', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    assert.match(credentialsSecret, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(credentialsSecret, 'base64').length, 32);
    const info = await t.core.getInfo('test', DEVICE, credentialsSecret);
    assert.deepEqual(info, {
      version: PAIRING_CORE_VERSION,
      status: 'pending',
      protocols: { astarte_mqtt_v1: { broker_url: 'mqtts://broker.test:8883/' } },
    });
    await assert.rejects(t.core.getInfo('test', DEVICE, 'wrong'), isPairingError('FORBIDDEN', 403));
    await assert.rejects(
      t.core.getInfo('test', 'BJInS0w3VpWpuOqkXhgZdA', credentialsSecret),
      isPairingError('DEVICE_NOT_FOUND', 404),
    );
    await assert.rejects(t.core.getInfo('nope', DEVICE, credentialsSecret), isPairingError('REALM_NOT_FOUND', 403));
    const rec = await t.core.showDevice('test', DEVICE);
    assert.equal(rec.status, 'pending');
    assert.equal(rec.registered, true);
    assert.ok(rec.firstRegistrationAt);
    assert.ok(!JSON.stringify(rec).includes(credentialsSecret), 'the record never carries the secret');
    assert.ok(!JSON.stringify(rec).includes('$imprint'), 'nor its hash');
  } finally {
    await t.cleanup();
  }
});

test('re-registration before first credentials gives a new secret and the old one stops working', async () => {
  const t = await openTestCore();
  try {
    const first = await t.core.registerDevice('test', DEVICE);
    const second = await t.core.registerDevice('test', DEVICE);
    assert.notEqual(first.credentialsSecret, second.credentialsSecret);
    await assert.rejects(t.core.getInfo('test', DEVICE, first.credentialsSecret), isPairingError('FORBIDDEN'));
    assert.equal((await t.core.getInfo('test', DEVICE, second.credentialsSecret)).status, 'pending');
  } finally {
    await t.cleanup();
  }
});

test('unregister clears the secret and re-opens registration; unknown and long ids are refused', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    await assert.rejects(t.core.unregisterDevice('test', `${DEVICE}xyz`), isPairingError('INVALID_DEVICE_ID', 422));
    await assert.rejects(t.core.unregisterDevice('test', 'BJInS0w3VpWpuOqkXhgZdA'), isPairingError('DEVICE_NOT_FOUND', 404));
    await t.core.unregisterDevice('test', DEVICE);
    await assert.rejects(t.core.getInfo('test', DEVICE, credentialsSecret), isPairingError('FORBIDDEN'));
    assert.equal((await t.core.showDevice('test', DEVICE)).registered, false);
    const again = await t.core.registerDevice('test', DEVICE);
    assert.equal((await t.core.getInfo('test', DEVICE, again.credentialsSecret)).status, 'pending');
  } finally {
    await t.cleanup();
  }
});

test('longer device ids are truncated to the canonical 22 characters on register and info', async () => {
  const t = await openTestCore();
  try {
    const long = `${DEVICE}Zm9vYmFy`;
    const { credentialsSecret } = await t.core.registerDevice('test', long);
    assert.equal((await t.core.getInfo('test', DEVICE, credentialsSecret)).status, 'pending');
    assert.equal((await t.core.getInfo('test', long, credentialsSecret)).status, 'pending');
    assert.equal((await t.core.showDevice('test', DEVICE)).deviceId, DEVICE);
    await assert.rejects(t.core.registerDevice('test', 'not-a-device-id!'), isPairingError('INVALID_DEVICE_ID', 422));
    await assert.rejects(t.core.registerDevice('test', 'short'), isPairingError('INVALID_DEVICE_ID', 422));
  } finally {
    await t.cleanup();
  }
});

test('inhibit shows as inhibited status and is lifted by setInhibited(false) or a new registration', async () => {
  const t = await openTestCore();
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    await t.core.setInhibited('test', DEVICE, true);
    assert.equal((await t.core.getInfo('test', DEVICE, credentialsSecret)).status, 'inhibited');
    assert.equal((await t.core.showDevice('test', DEVICE)).inhibited, true);
    await t.core.setInhibited('test', DEVICE, false);
    assert.equal((await t.core.getInfo('test', DEVICE, credentialsSecret)).status, 'pending');
    await assert.rejects(t.core.setInhibited('test', 'BJInS0w3VpWpuOqkXhgZdA', true), isPairingError('DEVICE_NOT_FOUND'));
    // As Astarte, registering again lifts the inhibition.
    await t.core.setInhibited('test', DEVICE, true);
    const again = await t.core.registerDevice('test', DEVICE);
    assert.equal((await t.core.getInfo('test', DEVICE, again.credentialsSecret)).status, 'pending');
  } finally {
    await t.cleanup();
  }
});

test('the registration limit counts every device the realm knows, as Astarte; known devices may always re-register', async () => {
  const t = await openTestCore({ deviceRegistrationLimit: 2 });
  try {
    const ids = ['a', 'b', 'c'].map((s) => deriveDeviceId(s));
    await t.core.registerDevice('test', ids[0]);
    await t.core.registerDevice('test', ids[1]);
    await assert.rejects(t.core.registerDevice('test', ids[2]), isPairingError('REGISTRATION_LIMIT', 422));
    await t.core.registerDevice('test', ids[1]);
    await t.core.unregisterDevice('test', ids[0]);
    await assert.rejects(t.core.registerDevice('test', ids[2]), isPairingError('REGISTRATION_LIMIT', 422));
    await t.core.registerDevice('test', ids[0]);
    assert.equal((await t.core.showDevice('test', ids[0])).registered, true);
  } finally {
    await t.cleanup();
  }
});

test('concurrent registrations: the limit holds exactly and every acknowledged one survives a reopen', async () => {
  const t = await openTestCore({ deviceRegistrationLimit: 150 });
  try {
    const ids = Array.from({ length: 200 }, (_, i) => deriveDeviceId(`serial-${i}`));
    const before = t.core.storeStats();
    const results = await Promise.allSettled(ids.map((id) => t.core.registerDevice('test', id)));
    const after = t.core.storeStats();
    const ok = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(ok.length, 150, 'the limit holds among concurrent registrations');
    for (const r of results) if (r.status === 'rejected') assert.ok(isPairingError('REGISTRATION_LIMIT', 422)(r.reason));
    if (t.core.storeEngine === 'sqlite') {
      // One writer: rules apply in call order, and the 200 writes share one or two commits.
      assert.deepEqual(ok, [...Array(150).keys()]);
      assert.equal(after?.durability, 'synchronous=NORMAL+wal-fdatasync-before-ack');
      assert.equal((after?.writes ?? 0) - (before?.writes ?? 0), 200);
      const batches = (after?.batches ?? 0) - (before?.batches ?? 0);
      assert.ok(batches <= 2, `group commit: ${batches} batches for 200 writes`);
    }
    const core = await t.reopen();
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled')
        assert.equal((await core.getInfo('test', ids[i], r.value.credentialsSecret)).status, 'pending');
      else await assert.rejects(core.showDevice('test', ids[i]), isPairingError('DEVICE_NOT_FOUND'));
    }
  } finally {
    await t.cleanup();
  }
});

test('realms: create, get, list, and clear validation errors', async () => {
  const t = await openTestCore();
  try {
    const keys = makeAgentKeyPair('rsa');
    const r = await t.core.createRealm({ name: 'plant2', publicKeyPem: keys.publicKeyPem, factory: 'Turin' });
    assert.equal(r.brokerUrl, 'mqtts://localhost:8883/');
    assert.equal(r.factory, 'Turin');
    assert.deepEqual(t.core.getRealm('plant2'), r);
    assert.deepEqual(
      (await t.core.listRealms()).map((x) => x.name),
      ['plant2', 'test'],
    );
    assert.equal(t.core.getRealm('missing'), undefined);
    const bad = [
      { name: 'plant2', publicKeyPem: keys.publicKeyPem, field: 'name' },
      { name: 'Bad-Name', publicKeyPem: keys.publicKeyPem, field: 'name' },
      { name: 'ok', publicKeyPem: 'not a key', field: 'public_key_pem' },
      { name: 'ok', publicKeyPem: keys.privateKeyPem, field: 'public_key_pem' },
    ];
    for (const b of bad) {
      await assert.rejects(
        t.core.createRealm({ name: b.name, publicKeyPem: b.publicKeyPem }),
        (e: { code?: string; fields?: Record<string, string[]>; message: string }) => {
          assert.equal(e.code, 'VALIDATION');
          assert.ok(e.fields?.[b.field], `field ${b.field} reported`);
          assert.ok(!e.message.includes('PRIVATE KEY'));
          return true;
        },
      );
    }
    await assert.rejects(
      t.core.createRealm({ name: 'ok', publicKeyPem: keys.publicKeyPem, brokerUrl: 'nope', deviceRegistrationLimit: -1 }),
      (e: { fields?: Record<string, string[]> }) => Boolean(e.fields?.broker_url && e.fields?.device_registration_limit),
    );
    await t.reopen();
    assert.deepEqual(t.core.getRealm('plant2'), r, 'realms persist');
  } finally {
    await t.cleanup();
  }
});

test('initial introspection is validated, stored, and replaced on re-registration', async () => {
  const t = await openTestCore();
  try {
    const intro = { 'org.example.Sensor': { major: 1, minor: 0 }, 'org.example.Led': { major: 0, minor: 3 } };
    await t.core.registerDevice('test', DEVICE, { initialIntrospection: intro });
    assert.deepEqual((await t.core.showDevice('test', DEVICE)).initialIntrospection, intro);
    for (const bad of [{ x: { major: -1, minor: 1 } }, { x: { major: '1', minor: 1 } }, []]) {
      await assert.rejects(
        t.core.registerDevice('test', DEVICE, { initialIntrospection: bad as never }),
        (e: { code?: string; fields?: Record<string, string[]> }) =>
          e.code === 'VALIDATION' && Boolean(e.fields?.initial_introspection),
      );
    }
    await t.core.registerDevice('test', DEVICE);
    assert.equal((await t.core.showDevice('test', DEVICE)).initialIntrospection, undefined);
  } finally {
    await t.cleanup();
  }
});

test('the secret never reaches the database files or the logs', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => lines.push(s) });
  const dataDir = makeTempDir();
  const core = await EmbeddedPairingCore.open({ dataDir, logger });
  try {
    await core.createRealm({ name: 'test', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    const secrets: string[] = [];
    for (let i = 0; i < 5; i++) secrets.push((await core.registerDevice('test', deriveDeviceId(`s${i}`))).credentialsSecret);
    await core.registerDevice('test', DEVICE);
    await core.unregisterDevice('test', DEVICE);
    await assert.rejects(core.getInfo('test', deriveDeviceId('s0'), 'wrong-secret'));
    await core.close();
    const files = readdirSync(dataDir).filter((f) => f.startsWith('pairing.sqlite'));
    assert.ok(files.length >= 1);
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))));
    const logs = lines.join('');
    assert.ok(logs.includes('device registered'), 'the core does log registrations');
    for (const s of secrets) {
      assert.equal(bytes.includes(s), false, 'no secret in the database');
      assert.equal(logs.includes(s), false, 'no secret in the logs');
    }
  } finally {
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('concurrent re-registrations of one device leave exactly one working secret (the last one, on the embedded store)', async () => {
  const t = await openTestCore();
  try {
    const secrets = (await Promise.all(Array.from({ length: 10 }, () => t.core.registerDevice('test', DEVICE)))).map(
      (r) => r.credentialsSecret,
    );
    const works = await Promise.all(
      secrets.map((s) =>
        t.core.getInfo('test', DEVICE, s).then(
          () => true,
          () => false,
        ),
      ),
    );
    assert.equal(works.filter(Boolean).length, 1, 'exactly one secret works');
    if (t.core.storeEngine === 'sqlite') assert.equal(works[9], true, 'one writer: the last call wins');
  } finally {
    await t.cleanup();
  }
});

test('a second core on the same data dir (the CLI beside a server) sees and makes changes', async () => {
  const t = await openTestCore();
  const cli = await EmbeddedPairingCore.open({ dataDir: t.dataDir, store: t.storeUrl });
  try {
    const { credentialsSecret } = await t.core.registerDevice('test', DEVICE);
    await cli.createRealm({ name: 'late', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    assert.equal((await t.core.realm('late'))?.name, 'late', 'a realm created by the CLI is found at once');
    await assert.rejects(
      t.core.createRealm({ name: 'late', publicKeyPem: makeAgentKeyPair().publicKeyPem }),
      isPairingError('VALIDATION', 422),
    );
    await cli.setInhibited('test', DEVICE, true);
    assert.equal((await t.core.getInfo('test', DEVICE, credentialsSecret)).status, 'inhibited');
    assert.equal((await cli.showDevice('test', DEVICE)).status, 'inhibited');
  } finally {
    await cli.close();
    await t.cleanup();
  }
});

test('certificate serials: positive, 16 octets, in the order of issue, and unpredictable past their time', () => {
  const t0 = Date.UTC(2026, 11, 4, 6, 0, 0);
  const serials = [0, 0, 1, 2, 1000, 86_400_000].map((dt) => newSerialHex(t0 + dt));
  for (const s of serials) {
    assert.match(s, /^40[0-9a-f]{30}$/, 'a 0x40 first octet: positive, no leading zero octet');
  }
  // The time of issue is octets 1-6: serials sort (as the stores' text keys do) in the order they were made.
  assert.deepEqual(
    serials.map((s) => Number.parseInt(s.slice(2, 14), 16) - t0),
    [0, 0, 1, 2, 1000, 86_400_000],
  );
  assert.deepEqual([...serials].sort(), serials.slice(0, 2).sort().concat(serials.slice(2)));
  // Two in the same millisecond differ in their 72 random bits.
  assert.notEqual(serials[0], serials[1]);
  assert.notEqual(serials[0].slice(14), serials[1].slice(14));
});
