// The station config file (schema, defaults, clear errors, atomic save) and the 0600 secret store.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileSecretStore, maskSecret } from '../../src/station/secret-store.ts';
import {
  defaultStationConfig,
  loadStationConfig,
  parseStationConfig,
  saveStationConfig,
  toStationSettings,
} from '../../src/station/station-config.ts';
import { tempDir } from './station-harness.ts';

const dir = tempDir('imprint-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('a short hand-written config takes defaults for what it leaves out', () => {
  const file = join(dir, 'short.json');
  writeFileSync(file, JSON.stringify({ realm: 'plant', fixtures: [{ id: 'a', devicePort: '/dev/ttyUSB0', baudRate: 115200 }] }));
  const c = loadStationConfig(file);
  assert.equal(c.realm, 'plant');
  assert.equal(c.pairing.mode, 'embedded');
  assert.equal(c.deviceIdRule.kind, 'uuidv5');
  assert.equal(c.fixtures[0].devicePort, '/dev/ttyUSB0');
});

test('bad configs are refused with every bad field named', () => {
  const bad = { ...defaultStationConfig(), realm: 'Bad Realm', fixtures: [{ id: 'a', devicePort: '', baudRate: 7 }], extra: 1 };
  assert.throws(
    () => parseStationConfig(bad),
    (e: Error) => {
      assert.equal((e as { code?: string }).code, 'BAD_CONFIG');
      assert.match(e.message, /\/realm/);
      assert.match(e.message, /\/fixtures\/0\/devicePort/);
      assert.match(e.message, /\/fixtures\/0\/baudRate/);
      return true;
    },
  );
  const dup = {
    ...defaultStationConfig(),
    fixtures: [
      { id: 'a', devicePort: '/x' },
      { id: 'a', devicePort: '/y' },
    ],
  };
  assert.throws(() => parseStationConfig(dup), /used twice/);
  const remote = { ...defaultStationConfig(), pairing: { mode: 'remote' } };
  assert.throws(() => parseStationConfig(remote), /pairing.url is required/);
  const file = join(dir, 'broken.json');
  writeFileSync(file, '{ nope');
  assert.throws(() => loadStationConfig(file), { code: 'BAD_CONFIG' });
  assert.throws(() => loadStationConfig(join(dir, 'missing.json'), { mustExist: true }), /not found/);
});

test('save then load round-trips; the settings view carries only a masked token', () => {
  const file = join(dir, 'station.json');
  const c = {
    ...defaultStationConfig(),
    stationId: 'line-3',
    pairing: { mode: 'remote' as const, url: 'https://pairing.example.com' },
  };
  saveStationConfig(file, c);
  assert.deepEqual(loadStationConfig(file), c);
  const token = 'eyJhbGciOiJFUzI1NiJ9.payload.signature-part';
  const settings = toStationSettings(c, maskSecret(token));
  assert.equal(settings.pairing.agentToken?.includes(token), false);
  assert.match(settings.pairing.agentToken ?? '', /\(set\)$/);
});

test('the file secret store keeps values in a 0600 file and deletes them', async () => {
  const store = new FileSecretStore(join(dir, 'secrets.json'));
  assert.equal(await store.get('agentToken'), undefined);
  await store.set('agentToken', 'tok-123');
  assert.equal(statSync(store.file).mode & 0o777, 0o600);
  assert.equal(await store.get('agentToken'), 'tok-123');
  await store.delete('agentToken');
  assert.equal(await store.get('agentToken'), undefined);
  assert.equal(readFileSync(store.file, 'utf8').includes('tok-123'), false);
});
