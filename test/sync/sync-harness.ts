// Test helpers for sync: a station data dir (embedded core + audit trail) and device checks
// against a remote core with a device's flashed secret.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';

export function tempDir(prefix = 'imprint-sync-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A station data dir as a station in embedded or fallback mode leaves it: pairing.sqlite + audit.db. */
export async function makeStationData(opts: { realm: string; stationId: string; devices: string[]; dir?: string }) {
  const dir = opts.dir ?? tempDir('imprint-sync-station-');
  const core = await EmbeddedPairingCore.open({ dataDir: dir });
  if (!core.getRealm(opts.realm)) await core.createRealm({ name: opts.realm, publicKeyPem: makeAgentKeyPair().publicKeyPem });
  const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: opts.stationId });
  const secrets = new Map<string, string>();
  try {
    for (const hwId of opts.devices) {
      const { credentialsSecret } = await core.registerDevice(opts.realm, hwId);
      secrets.set(hwId, credentialsSecret);
      await trail.append({ station: opts.stationId, step: 'register', outcome: 'ok', deviceId: hwId, operator: 'alice' });
      await trail.append({ station: opts.stationId, step: 'record', outcome: 'ok', deviceId: hwId, operator: 'alice' });
    }
  } finally {
    trail.close();
    await core.close();
  }
  return { dir, secrets };
}

/** info + credentials + verify with the device's secret, against the remote core, as a device would. */
export async function assertDeviceWorks(url: string, realm: string, deviceId: string, secret: string): Promise<void> {
  const device = new RemotePairingClient({ baseUrl: url });
  try {
    const info = await device.getInfo(realm, deviceId, secret);
    assert.equal(info.status, 'pending');
    const { csrPem } = makeDeviceCsr();
    const { clientCrt } = await device.requestCredentials(realm, deviceId, secret, csrPem);
    const verified = await device.verifyCredentials(realm, deviceId, secret, clientCrt);
    assert.equal(verified.valid, true);
    assert.equal((await device.getInfo(realm, deviceId, secret)).status, 'confirmed');
  } finally {
    await device.close();
  }
}

/**
 * Plant IT enrols the station of `dir` (its audit signing key, made now if the station has none yet) at
 * the remote core, as `imprint station enroll` does: imports are accepted from enrolled stations only.
 */
export async function enrolStation(opts: { url: string; realm: string; token: string; dir: string; stationId: string }) {
  const key = loadOrCreateSigningKey(opts.dir);
  const raw = Buffer.from(key.publicKey, 'base64').subarray(-32).toString('base64');
  const res = await fetch(`${opts.url}/v1/${opts.realm}/agent/imports/stations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
    body: JSON.stringify({ data: { station_id: opts.stationId, public_key: raw, key_id: key.keyId } }),
  });
  assert.ok(res.status === 201 || res.status === 200, `enrolment: HTTP ${res.status} ${await res.text()}`);
  return key;
}
