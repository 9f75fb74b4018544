// The offline fallback client and the connectivity probe, against an in-process remote core that is
// stopped and started again on the same 127.0.0.1 port.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { openStationPairing } from '../../src/api/pairing-policy.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { type RunningPairingServer, servePairing } from '../../src/pairing/http/server.ts';
import { defaultStationConfig, type StationConfig } from '../../src/station/station-config.ts';
import { ConnectivityProbe } from '../../src/sync/connectivity-probe.ts';
import { type FallbackPairingClient, isOfflineAware, type OfflineState } from '../../src/sync/offline-policy.ts';
import { SyncState, syncStateFile } from '../../src/sync/sync-state.ts';
import { openTestCore } from '../helpers/pairing-core.ts';
import { freePort } from './remote-process.ts';
import { tempDir } from './sync-harness.ts';

const remote = await openTestCore({ realm: 'plant' });
const stationDir = tempDir('imprint-sync-policy-');
after(async () => {
  await remote.cleanup();
  rmSync(stationDir, { recursive: true, force: true });
});

test('fallback: offline while the remote is down (journalled under the open batch), back online by itself', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const token = await mintAgentToken({ privateKey: remote.agentKeys.privateKeyPem });
  const config: StationConfig = {
    ...defaultStationConfig(),
    stationId: 'line-p',
    realm: 'plant',
    // Learnt when the core last answered: it imports offline registrations (src/sync/remote-capabilities.ts).
    pairing: {
      mode: 'remote-with-offline-fallback',
      url,
      capabilities: { url, realm: 'plant', offlineImports: true, probedAt: new Date().toISOString() },
    },
  };
  const client = (await openStationPairing({ dataDir: stationDir, config, agentToken: token })) as FallbackPairingClient;
  assert.ok(isOfflineAware(client));
  const changes: OfflineState[] = [];
  client.onOfflineChange((s) => changes.push(s));
  client.setContext(() => ({ operator: 'ann', batchId: 'batch-7' }));
  let server: RunningPairingServer | undefined;
  try {
    const [a, b] = [deriveDeviceId('P-1'), deriveDeviceId('P-2')];
    const t0 = performance.now();
    const offline = await client.registerDevice('plant', a);
    assert.ok(performance.now() - t0 < 5_000, 'an outage does not stall the line');
    assert.equal(offline.credentialsSecret.length, 44);
    assert.deepEqual(client.offlineState().offline, true);
    await assert.rejects(remote.core.showDevice('plant', a), { code: 'DEVICE_NOT_FOUND' });

    server = await servePairing({ core: remote.core, host: '127.0.0.1', port });
    // No explicit refresh: once the probe's cached "down" answer (2 s) expires, the next
    // registration probes, finds the remote and goes online by itself.
    await new Promise((r) => setTimeout(r, 2_100));
    const online = await client.registerDevice('plant', b);
    assert.equal(client.offlineState().offline, false);
    assert.equal((await remote.core.showDevice('plant', b)).registered, true);
    assert.equal((await client.getInfo('plant', b, online.credentialsSecret)).status, 'pending');
    assert.deepEqual(
      changes.map((c) => c.offline),
      [true, false],
    );
  } finally {
    await server?.close();
    await client.close();
  }
  const state = SyncState.open(syncStateFile(stationDir));
  try {
    const j = state.offlineRegistration('plant', deriveDeviceId('P-1'));
    assert.equal(j?.batch, 'batch-7');
    assert.equal(j?.operator, 'ann');
    assert.equal(state.offlineRegistration('plant', deriveDeviceId('P-2')), undefined);
  } finally {
    state.close();
  }
});

test('connectivity probe: a short timeout, an answer cached briefly', async () => {
  const port = await freePort();
  let now = 0;
  const probe = new ConnectivityProbe({ url: `http://127.0.0.1:${port}`, timeoutMs: 500, cacheMs: 2000, now: () => now });
  const down = await probe.check();
  assert.equal(down.reachable, false);
  assert.ok(down.reason);
  const server = await servePairing({ core: remote.core, host: '127.0.0.1', port });
  try {
    now = 1000;
    assert.equal((await probe.check()).reachable, false, 'cached');
    now = 2500;
    assert.equal((await probe.check()).reachable, true);
  } finally {
    await server.close();
  }
});
