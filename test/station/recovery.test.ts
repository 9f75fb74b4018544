// Recovery at start: every pending write-ahead record is settled from the digest its device
// reports (complete / discard / fail for QA), or kept when the device cannot be reached.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { secretDigest } from '../../src/serial/device-types.ts';
import { createInProcessDevice, type InProcessDevice } from '../../src/sim/in-process-device.ts';
import { recoverPending } from '../../src/station/recovery.ts';
import { FAST_CLIENT, type Harness, openHarness, REALM } from './station-harness.ts';

let h: Harness;
const devices = new Map<string, InProcessDevice>();

before(async () => {
  h = await openHarness();
});
after(async () => {
  for (const d of devices.values()) await d.close();
  await h.close();
});

/** The state a crash leaves: registered in the core, sealed in the vault, maybe written. */
async function crashedDevice(serial: string, opts: { write?: boolean; preWritten?: string; powerLoss?: boolean } = {}) {
  const dev = await createInProcessDevice({
    hardwareSerial: serial,
    clientOpts: FAST_CLIENT,
    faults: { preWrittenSecret: opts.preWritten, powerLossDuringWrite: opts.powerLoss },
  });
  devices.set(serial, dev);
  const deviceId = deriveDeviceId(serial);
  const { credentialsSecret } = await h.core.registerDevice(REALM, deviceId);
  const rec = await h.vault.put({ deviceId, hardwareSerial: serial, fixture: 'f1' }, credentialsSecret);
  if (opts.write || opts.powerLoss) await dev.client.writeSecret(credentialsSecret).catch(() => {});
  return { dev, deviceId, secret: credentialsSecret, rec };
}

const ctx = () => ({
  stationId: 'test-station',
  vault: h.vault,
  db: h.db,
  audit: h.audit,
  workflow: h.workflow,
  locate: async ({ hardwareSerial }: { hardwareSerial: string }) => {
    const dev = devices.get(hardwareSerial);
    if (!dev) return undefined;
    const client = dev.client.isOpen ? dev.client : await dev.replug();
    return { client, release: async () => {} };
  },
});

test('recovery completes, discards, fails or keeps each pending record by the device digest', async () => {
  const written = await crashedDevice('REC-WRITTEN', { write: true });
  const empty = await crashedDevice('REC-EMPTY');
  const other = await crashedDevice('REC-OTHER', { preWritten: randomBytes(32).toString('base64') });
  const torn = await crashedDevice('REC-TORN', { powerLoss: true });
  const gone = await crashedDevice('REC-GONE');
  devices.get('REC-GONE')!.unplug();
  devices.delete('REC-GONE'); // no longer in any fixture
  const registrations = h.pairing.registrations;

  const report = await recoverPending(ctx());
  const by = Object.fromEntries(report.items.map((i) => [i.hardwareSerial, i]));
  assert.equal(by['REC-WRITTEN'].outcome, 'completed', by['REC-WRITTEN'].detail);
  assert.equal(by['REC-EMPTY'].outcome, 'discarded');
  assert.equal(by['REC-OTHER'].outcome, 'failed');
  assert.equal(by['REC-OTHER'].code, 'RECOVERY_MISMATCH');
  assert.equal(by['REC-TORN'].outcome, 'failed');
  assert.equal(by['REC-TORN'].code, 'STORAGE_TORN');
  assert.equal(by['REC-GONE'].outcome, 'kept');
  assert.equal(h.pairing.registrations, registrations, 'recovery registers nothing');

  // Completed: locked, configured, recorded, and the core accepts what the device holds.
  const status = await written.dev.client.storageStatus();
  assert.equal(status.state, 'locked');
  assert.equal(status.state === 'locked' && status.digest, secretDigest(written.secret));
  await h.core.getInfo(REALM, written.deviceId, written.secret);
  assert.equal(h.db.device(written.deviceId)?.state, 'provisioned');
  assert.equal(written.dev.simulator.storage.config?.deviceId, written.deviceId);
  assert.equal(h.audit.query({ hardwareSerial: 'REC-WRITTEN', step: 'record' })[0]?.outcome, 'ok');
  assert.equal(h.audit.query({ hardwareSerial: 'REC-OTHER', step: 'record' })[0]?.errorCode, 'RECOVERY_MISMATCH');

  // Only the unreachable device's record is still pending, and it still opens.
  const left = h.vault.pending();
  assert.deepEqual(
    left.map((r) => r.hardwareSerial),
    ['REC-GONE'],
  );
  assert.equal(h.vault.reveal(left[0]), gone.secret);
  void empty;
  void other;
  void torn;
});

test('a device confirmed but not yet locked when the station died is finished at recovery', async () => {
  const serial = 'REC-CONFIRMED';
  const dev = await createInProcessDevice({ hardwareSerial: serial, clientOpts: FAST_CLIENT });
  devices.set(serial, dev);
  const deviceId = deriveDeviceId(serial);
  const { credentialsSecret } = await h.core.registerDevice(REALM, deviceId);
  const rec = await h.vault.put({ deviceId, hardwareSerial: serial, fixture: 'f1' }, credentialsSecret);
  await dev.client.writeSecret(credentialsSecret);
  h.vault.confirm(rec.vaultId, {
    deviceId,
    hardwareSerial: serial,
    fixture: 'f1',
    digest: rec.digest,
    fingerprint: rec.fingerprint,
    writtenAt: new Date().toISOString(),
  });
  const report = await recoverPending(ctx());
  const item = report.items.find((i) => i.hardwareSerial === serial);
  assert.equal(item?.source, 'registry');
  assert.equal(item?.outcome, 'completed', item?.detail);
  assert.equal((await dev.client.storageStatus()).state, 'locked');
  assert.equal(h.db.device(deviceId)?.state, 'provisioned');
});
