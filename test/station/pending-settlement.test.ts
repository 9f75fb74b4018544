// What no device can settle: a simulated device that is gone is settled by the station itself; a
// real one by an operator's audited decision. A discard removes the core registration only when
// the core still holds that secret unused; a registration the device already used stays.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import type { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { Station } from '../../src/station/station.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { tempDir } from './station-harness.ts';

const REALM = 'settle';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function openStation(): Promise<Station> {
  const dir = tempDir('imprint-settle-');
  dirs.push(dir);
  return Station.open({ dataDir: dir, config: { ...defaultStationConfig(), stationId: 'settle-station', realm: REALM } });
}

/** A registration in the core and its pending record, as a crash leaves them. */
async function pending(station: Station, serial: string, simulated: boolean) {
  const deviceId = deriveDeviceId(serial);
  const { credentialsSecret } = await station.pairing.registerDevice(REALM, deviceId);
  const rec = station.vault.putSync(
    { deviceId, hardwareSerial: serial, fixture: 'bay-x', realm: REALM, simulated },
    credentialsSecret,
  );
  return { deviceId, secret: credentialsSecret, rec };
}

const core = (s: Station) => s.pairing as EmbeddedPairingCore;

test('a simulated device that is gone is settled by the station itself, audited; a real one is kept', async () => {
  const station = await openStation();
  try {
    const sim = await pending(station, 'SIM-GONE-1', true);
    const real = await pending(station, 'REAL-GONE-1', false);
    // Confirmed but never finished, and its simulator is gone too.
    const confirmed = await pending(station, 'SIM-GONE-2', true);
    station.vault.confirm(confirmed.rec.vaultId, {
      deviceId: confirmed.deviceId,
      hardwareSerial: 'SIM-GONE-2',
      digest: confirmed.rec.digest,
      fingerprint: confirmed.rec.fingerprint,
      fixture: 'bay-x',
      writtenAt: new Date().toISOString(),
      simulated: true,
    });

    const report = await station.recover();
    const by = Object.fromEntries(report.items.map((i) => [i.hardwareSerial, i]));
    assert.equal(by['SIM-GONE-1'].outcome, 'discarded', by['SIM-GONE-1'].detail);
    assert.match(by['SIM-GONE-1'].detail, /simulated device is gone.*unregistered/);
    assert.equal(by['SIM-GONE-2'].outcome, 'failed');
    assert.equal(by['SIM-GONE-2'].code, 'DEVICE_GONE');
    assert.equal(by['REAL-GONE-1'].outcome, 'kept', 'a real device may come back: only a person decides');
    assert.equal((await core(station).showDevice(REALM, sim.deviceId)).registered, false, 'the unused registration is removed');
    assert.equal(station.db.device(confirmed.deviceId)?.state, 'failed');
    const decisions = station.audit.query({ step: 'recover' }).filter((e) => e.data?.decision);
    assert.deepEqual(decisions.map((e) => [e.hardwareSerial, e.data?.decision, e.data?.automatic]).sort(), [
      ['SIM-GONE-1', 'discard', true],
      ['SIM-GONE-2', 'set-aside', true],
    ]);
    assert.equal(station.audit.query({ step: 'record', hardwareSerial: 'SIM-GONE-2' })[0]?.errorCode, 'DEVICE_GONE');
    // The kept record says why, for `station status`.
    assert.match(station.vault.pending()[0].pendingReason ?? '', /no fixture or port known/);
    assert.equal(station.vault.pending()[0].deviceId, real.deviceId);
  } finally {
    await station.close();
  }
});

test('an operator discard: unregisters an unused registration, leaves a used one, and names who decided', async () => {
  const station = await openStation();
  try {
    const unused = await pending(station, 'OP-UNUSED', false);
    const used = await pending(station, 'OP-USED', false);
    // The device got its secret after all and already asked for credentials with it.
    await core(station).requestCredentials(REALM, used.deviceId, used.secret, makeDeviceCsr().csrPem);
    const replaced = await pending(station, 'OP-REPLACED', false);
    await station.pairing.registerDevice(REALM, replaced.deviceId); // registered again since

    const r = await station.decide('discard', { all: true }, 'qa-lead');
    assert.deepEqual(r.unmatched, []);
    const detail = Object.fromEntries(r.settled.map((s) => [s.hardwareSerial, s.detail]));
    assert.match(detail['OP-UNUSED'], /unregistered/);
    assert.match(detail['OP-USED'], /already used this secret: its registration is left in place/);
    assert.match(detail['OP-REPLACED'], /no longer holds this secret/);
    assert.equal((await core(station).showDevice(REALM, unused.deviceId)).registered, false);
    assert.equal((await core(station).showDevice(REALM, used.deviceId)).status, 'confirmed', 'a live device is never cut off');
    assert.equal((await core(station).showDevice(REALM, replaced.deviceId)).registered, true);
    assert.deepEqual(station.vault.pending(), []);
    const events = station.audit.query({ step: 'recover' });
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.operator === 'qa-lead' && e.data?.automatic === false && e.secretFingerprint));
    assert.deepEqual(events.map((e) => e.data?.core).sort(), ['in-use', 'not-held', 'unregistered']);
    assert.equal(station.audit.verify().ok, true);
  } finally {
    await station.close();
  }
});

test('decisions apply only to their kind: --discard never touches a confirmed device, --set-aside never a record', async () => {
  const station = await openStation();
  try {
    const rec = await pending(station, 'KIND-REC', false);
    const conf = await pending(station, 'KIND-CONF', false);
    station.vault.confirm(conf.rec.vaultId, {
      deviceId: conf.deviceId,
      hardwareSerial: 'KIND-CONF',
      digest: conf.rec.digest,
      fingerprint: conf.rec.fingerprint,
      fixture: 'bay-x',
      writtenAt: new Date().toISOString(),
    });
    const discard = await station.decide('discard', { ids: ['KIND-CONF'] }, 'qa');
    assert.deepEqual([discard.settled, discard.unmatched], [[], ['KIND-CONF']]);
    const aside = await station.decide('set-aside', { ids: [String(rec.rec.vaultId)] }, 'qa');
    assert.deepEqual([aside.settled, aside.unmatched], [[], [String(rec.rec.vaultId)]]);
    const both = await station.decide('set-aside', { ids: [conf.deviceId] }, 'qa');
    assert.equal(both.settled.length, 1);
    assert.equal(station.db.device(conf.deviceId)?.state, 'failed');
    assert.equal(station.vault.pending().length, 1, 'the unconfirmed record is still pending');
  } finally {
    await station.close();
  }
});
