// Against an Astarte-compatible core WITHOUT the import API (test/helpers/astarte-peer.ts): the offline
// fallback is refused at start with one clear sentence (nothing can ever teach that core a secret the
// station made), and the deferred mode parks devices while the core is down, writes nothing to them,
// and provisions them when it is back, with secrets that work on that core.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStationPairing } from '../../src/api/pairing-policy.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { Station } from '../../src/station/station.ts';
import {
  defaultStationConfig,
  loadStationConfig,
  type StationConfig,
  stationConfigPath,
} from '../../src/station/station-config.ts';
import { AstartePeer } from '../helpers/astarte-peer.ts';
import { assertDeviceWorks, tempDir } from './sync-harness.ts';

const REALM = 'plant';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 50));
};

test('remote-with-offline-fallback towards a core without the import API is refused at start, naming realm and remote', async () => {
  const peer = await AstartePeer.create(dir('imprint-astarte-'), REALM);
  await peer.start();
  const station = dir('imprint-astarte-fallback-');
  try {
    const token = await mintAgentToken({ privateKey: peer.agentKeys.privateKeyPem });
    const config: StationConfig = {
      ...defaultStationConfig(),
      stationId: 'line-a',
      realm: REALM,
      pairing: { mode: 'remote-with-offline-fallback', url: peer.url },
    };
    await assert.rejects(
      openStationPairing({ dataDir: station, config, agentToken: token }),
      (e: Error & { code?: string; hint?: string }) => {
        assert.equal(e.code, 'OFFLINE_IMPORTS_UNSUPPORTED');
        assert.match(e.message, /cannot import offline registrations/);
        assert.match(e.message, new RegExp(`realm ${REALM} at ${peer.url}`));
        assert.match(e.hint ?? '', /deferred/);
        return true;
      },
    );
    // Nothing was registered offline; the answer is remembered for this URL and realm.
    assert.equal(existsSync(join(station, 'pairing.sqlite')), false);
    const remembered = loadStationConfig(stationConfigPath(station)).pairing.capabilities;
    assert.deepEqual([remembered?.url, remembered?.realm, remembered?.offlineImports], [peer.url, REALM, false]);
    // Later, with the core down, the remembered "no" still refuses.
    await peer.stop();
    await assert.rejects(
      openStationPairing({
        dataDir: station,
        config: { ...config, pairing: { ...config.pairing, capabilities: remembered } },
        agentToken: token,
      }),
      { code: 'OFFLINE_IMPORTS_UNSUPPORTED' },
    );
  } finally {
    await peer.stop();
  }
});

test('deferred: devices are identified and parked while the core is down, nothing written, then provisioned; their secrets work on that core', async () => {
  const peer = await AstartePeer.create(dir('imprint-astarte-'), REALM);
  const data = dir('imprint-astarte-deferred-');
  const token = await mintAgentToken({ privateKey: peer.agentKeys.privateKeyPem });
  const config: StationConfig = {
    ...defaultStationConfig(),
    stationId: 'line-d',
    realm: REALM,
    pairing: { mode: 'deferred', url: peer.url },
  };
  const client = new RemotePairingClient({ baseUrl: peer.url, agentToken: token, timeoutMs: 2000, retries: 0 });
  // Test only: remember what the core handed out (the device keeps only a digest).
  const secrets = new Map<string, string>();
  const register = client.registerDevice.bind(client);
  client.registerDevice = async (realm, hwId, opts) => {
    const r = await register(realm, hwId, opts);
    secrets.set(hwId, r.credentialsSecret);
    return r;
  };
  const station = await Station.open({
    dataDir: data,
    config,
    pairing: client,
    simulate: { fixtures: 2, inProcess: true },
    operator: 'dee',
    maxDevices: 2,
    retry: { firstMs: 100, maxMs: 300 },
  });
  try {
    await station.start();
    await until(() => station.status().pairing.parked === 2);
    const parked = station.status();
    assert.equal(parked.linePause?.code, 'PAIRING_CORE_UNREACHABLE');
    assert.ok(parked.fixtures.every((f) => f.step === 'register' && f.hardwareSerial && f.outcome === undefined));
    // Nothing was written: no sealed secret waits for any device, and nothing exists offline.
    assert.equal(station.pending().records.length, 0);
    assert.equal(existsSync(join(data, 'pairing.sqlite')), false);
    assert.equal(secrets.size, 0);

    await peer.start();
    await station.whenIdle();
    const s = station.summary();
    assert.deepEqual([s.passed, s.failed, s.parked, s.offline], [2, 0, 0, 0]);
    assert.equal(secrets.size, 2);
    for (const [deviceId, secret] of secrets) {
      await assertDeviceWorks(peer.url, REALM, deviceId, secret);
    }
  } finally {
    await station.close();
    await client.close();
    await peer.stop();
  }
});
