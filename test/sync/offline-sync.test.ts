// Two processes: a station (this process, or `imprint station run`) and a remote `imprint pairing
// serve` on 127.0.0.1. Devices run while the remote is down, then sync; sync cut many times.
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStationPairing } from '../../src/api/pairing-policy.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { Station } from '../../src/station/station.ts';
import {
  defaultStationConfig,
  type StationConfig,
  saveStationConfig,
  stationConfigPath,
} from '../../src/station/station-config.ts';
import { type FallbackPairingClient, isOfflineAware } from '../../src/sync/offline-policy.ts';
import { SyncClient } from '../../src/sync/sync-client.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { createRemoteRealm, freePort, RemoteProcess, runCli } from './remote-process.ts';
import { assertDeviceWorks, enrolStation, makeStationData, tempDir } from './sync-harness.ts';

const REALM = 'plant';
const keys = makeAgentKeyPair();
const dirs: string[] = [];
const remotes: RemoteProcess[] = [];

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function newRemote(): Promise<RemoteProcess> {
  const d = dir('imprint-sync-remote-');
  await createRemoteRealm(d, REALM, keys.publicKeyPem);
  const r = new RemoteProcess(d, await freePort());
  remotes.push(r);
  return r;
}

function stationConfig(stationId: string, url: string): StationConfig {
  return {
    ...defaultStationConfig(),
    stationId,
    realm: REALM,
    // What the station learnt when it last reached this core: it imports offline registrations.
    pairing: {
      mode: 'remote-with-offline-fallback',
      url,
      capabilities: { url, realm: REALM, offlineImports: true, probedAt: new Date().toISOString() },
    },
  };
}

/** Everything of the remote's state that a sync decides (not when it received it). */
function remoteState(remoteDir: string) {
  const db = new Database(join(remoteDir, 'pairing.sqlite'), { readonly: true });
  try {
    return {
      devices: db
        .prepare(
          `SELECT device_id, secret_hash, inhibited, first_registration_at, last_registration_at, first_credentials_request_at
           FROM devices WHERE realm = ? ORDER BY device_id`,
        )
        .all(REALM),
      imports: db
        .prepare(
          'SELECT station, device_id, batch, operator, registered_at, secret_hash, result, reason FROM device_imports ORDER BY station, device_id',
        )
        .all(),
      events: db.prepare('SELECT station, seq, hash, body FROM central_audit_events ORDER BY station, seq').all(),
      heads: db.prepare('SELECT station, last_seq, last_hash FROM central_audit_heads ORDER BY station').all(),
    };
  } finally {
    db.close();
  }
}

after(async () => {
  for (const r of remotes) await r.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('offline batches and sync (station + remote process)', { timeout: 240_000 }, () => {
  test('devices run while the remote is down are registered offline; after sync their flashed secrets work on the remote', async () => {
    const remote = await newRemote();
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
    const stationDir = dir('imprint-sync-line-a-');
    const config = stationConfig('line-a', remote.url);
    saveStationConfig(stationConfigPath(stationDir), config);
    const pairing = await openStationPairing({ dataDir: stationDir, config, agentToken: token });
    assert.ok(isOfflineAware(pairing));
    // Test only: remember what the station flashed (the device keeps only a digest).
    const secrets = new Map<string, string>();
    const register = pairing.registerDevice.bind(pairing);
    pairing.registerDevice = async (realm, hwId, opts) => {
      const r = await register(realm, hwId, opts);
      secrets.set(hwId, r.credentialsSecret);
      return r;
    };
    const station = await Station.open({
      dataDir: stationDir,
      config,
      pairing,
      simulate: { fixtures: 2, inProcess: true },
      operator: 'ann',
      maxDevices: 6,
    });
    try {
      const batch = await station.openBatch('WO-1');
      await station.start();
      await station.whenIdle();
      assert.equal(station.summary().passed, 6);
      assert.deepEqual(
        { reachable: station.status().pairing.reachable, offline: station.status().pairing.offline },
        { reachable: false, offline: true },
      );
      assert.equal(secrets.size, 6);

      // The remote comes back: the station notices on its own (probe) and goes back online.
      await remote.start();
      await (pairing as FallbackPairingClient).refresh();
      assert.deepEqual(
        { reachable: station.status().pairing.reachable, offline: station.status().pairing.offline },
        { reachable: true, offline: false },
      );
      await station.closeBatch();

      await enrolStation({ url: remote.url, realm: REALM, token, dir: stationDir, stationId: 'line-a' });
      const res = await runCli(['sync', '--data', stationDir, '--json'], { env: { IMPRINT_AGENT_TOKEN: token } });
      assert.equal(res.code, 0, res.stderr);
      const summary = JSON.parse(res.stdout);
      assert.deepEqual(summary.devices, { pending: 6, imported: 6, alreadyPresent: 0, conflicts: 0 });
      assert.equal(summary.audit.acceptedUpTo, summary.audit.localLastSeq);
      const imports = remoteState(remote.dir).imports as { batch: string; operator: string }[];
      assert.ok(imports.every((i) => i.batch === batch.id && i.operator === 'ann'));
      const [deviceId, secret] = [...secrets][0];
      await assertDeviceWorks(remote.url, REALM, deviceId, secret);
    } finally {
      await station.close();
      await pairing.close();
      await remote.kill('SIGTERM');
    }
  });

  test('a sync cut many times (remote killed mid-sync) ends in the same state as an uninterrupted one', async () => {
    const ids = Array.from({ length: 240 }, (_, i) => deriveDeviceId(`CUT-${i}`));
    const source = await makeStationData({ realm: REALM, stationId: 'line-c', devices: ids });
    dirs.push(source.dir);
    const copyA = dir('imprint-sync-copy-a-');
    const copyB = dir('imprint-sync-copy-b-');
    cpSync(source.dir, copyA, { recursive: true });
    cpSync(source.dir, copyB, { recursive: true });
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
    const sync = (dataDir: string, url: string, onProgress?: () => void) =>
      new SyncClient({
        dataDir,
        remoteUrl: url,
        agentToken: token,
        realm: REALM,
        stationId: 'line-c',
        deviceChunk: 16,
        eventChunk: 32,
        onProgress,
      }).run();

    const reference = await newRemote();
    await reference.start();
    await enrolStation({ url: reference.url, realm: REALM, token, dir: copyA, stationId: 'line-c' });
    const full = await sync(copyA, reference.url);
    assert.equal(full.devices.imported, ids.length);
    await reference.kill('SIGTERM');

    const cut = await newRemote();
    let cutRounds = 0;
    for (let round = 0; round < 8; round++) {
      await cut.start();
      if (round === 0) await enrolStation({ url: cut.url, realm: REALM, token, dir: copyB, stationId: 'line-c' });
      // Kill the remote after a different number of acknowledged chunks each round, a few ms later
      // (so some cuts land while a request is in flight).
      let chunks = 0;
      const killAt = 2 + round * 3;
      const run = sync(copyB, cut.url, () => {
        if (++chunks === killAt) setTimeout(() => void cut.kill(), round % 3);
      });
      const outcome = await run.then(
        () => 'done',
        (e: Error & { code?: string }) => e.code,
      );
      await cut.kill();
      if (outcome === 'done') break;
      assert.equal(outcome, 'SYNC_UNREACHABLE');
      cutRounds++;
    }
    assert.ok(cutRounds >= 3, `the sync was cut ${cutRounds} times`);
    await cut.start();
    const last = await sync(copyB, cut.url);
    assert.equal(last.audit.acceptedUpTo, last.audit.localLastSeq);
    await cut.kill('SIGTERM');

    const a = remoteState(reference.dir);
    const b = remoteState(cut.dir);
    assert.equal(a.devices.length, ids.length);
    assert.equal(a.events.length, ids.length * 2);
    assert.deepEqual(b, a);
  });

  test('CLI: station run offline, then sync; conflicts reported (exit 5) and listed; central audit queried across stations', async () => {
    const remote = await newRemote();
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
    const env = { IMPRINT_AGENT_TOKEN: token, IMPRINT_LOG_LEVEL: 'error' };
    const stationDir = dir('imprint-sync-line-b-');
    writeFileSync(join(stationDir, 'station.json'), JSON.stringify(stationConfig('line-b', remote.url)));
    const run = await runCli(
      [
        'station',
        'run',
        '--data',
        stationDir,
        '--simulate',
        '2',
        '--count',
        '4',
        '--in-process',
        '--batch',
        'WO-2',
        '--operator',
        'bob',
        '--json',
      ],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    const ran = JSON.parse(run.stdout);
    assert.equal(ran.passed, 4);
    // Offline is visible: how many went offline, how many wait, and the batch says so.
    assert.deepEqual([ran.offline, ran.waitingToSync, ran.batch.offline], [4, 4, true]);
    const waiting = await runCli(['sync', 'status', '--data', stationDir, '--json'], { env });
    assert.equal(waiting.code, 0, waiting.stderr);
    const pending = JSON.parse(waiting.stdout);
    assert.equal(pending.pendingDevices, 4);
    assert.deepEqual(
      pending.pendingByBatch.map((b: { batch: string; devices: number }) => [b.batch, b.devices]),
      [[ran.batch.id, 4]],
    );

    // Meanwhile one of these devices was registered on the remote by someone else.
    const stationDb = new Database(join(stationDir, 'pairing.sqlite'), { readonly: true });
    const taken = stationDb.prepare('SELECT device_id FROM devices ORDER BY device_id LIMIT 1').pluck().get() as string;
    stationDb.close();
    await remote.start();
    const online = new RemotePairingClient({ baseUrl: remote.url, agentToken: token });
    await online.registerDevice(REALM, taken);
    await online.close();
    await enrolStation({ url: remote.url, realm: REALM, token, dir: stationDir, stationId: 'line-b' });

    const res = await runCli(['sync', '--data', stationDir], { env });
    assert.equal(res.code, 5, res.stderr);
    assert.match(res.stdout, /3 imported, 0 already present, 1 conflicts/);
    assert.match(res.stdout, new RegExp(`${taken}.*registered elsewhere with another secret`));
    assert.match(res.stdout, /what to do:/);
    const conflicts = await runCli(['sync', 'conflicts', '--data', stationDir, '--json'], { env });
    const listed = JSON.parse(conflicts.stdout) as { deviceId: string; hardwareSerial?: string; resolve: string }[];
    assert.deepEqual(
      listed.map((c) => c.deviceId),
      [taken],
    );
    // The conflict names the hardware serial and the one command that resolves it.
    assert.ok(listed[0].hardwareSerial, 'the hardware serial is named');
    assert.equal(listed[0].resolve, `imprint sync resolve ${taken} --keep core|station`);

    const query = await runCli(
      ['audit', 'query', '--data', stationDir, '--remote', remote.url, '--station', 'line-b', '--step', 'record', '--json'],
      { env },
    );
    assert.equal(query.code, 0, query.stderr);
    const events = JSON.parse(query.stdout) as { station: string; outcome: string }[];
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => e.station === 'line-b' && e.outcome === 'ok'));
    await remote.kill('SIGTERM');
  });
});
