// Under the `remote` policy the station depends on a pairing core in another process
// (`imprint pairing serve`). When that core stops, or refuses the station's agent token (401 bad
// signature, 403 outside its scope), the line pauses once with that state: no device is FAILED
// for it, nothing is registered meanwhile, and the line resumes when the core is back or a valid
// token is set.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { OperatorAuth } from '../../src/api/operator-auth.ts';
import type { StationStatus } from '../../src/api/station-api.ts';
import { AGENT_TOKEN_SECRET, StationService } from '../../src/api/station-service.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { FileSecretStore } from '../../src/station/secret-store.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { createRemoteRealm, freePort, RemoteProcess } from '../sync/remote-process.ts';
import { assertNothingLost, imprint, lineLog, openSimulatedStation, tempDir } from './fault-harness.ts';

const REALM = 'plant';
const dirs: string[] = [];
const remotes: RemoteProcess[] = [];
after(async () => {
  for (const r of remotes) await r.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function startRemote(): Promise<{ remote: RemoteProcess; keys: ReturnType<typeof makeAgentKeyPair> }> {
  const keys = makeAgentKeyPair();
  const remoteDir = dir('imprint-remote-');
  await createRemoteRealm(remoteDir, REALM, keys.publicKeyPem);
  const remote = new RemoteProcess(remoteDir, await freePort());
  remotes.push(remote);
  await remote.start();
  return { remote, keys };
}

test('the remote core stops mid-run: one PAIRING_CORE_UNREACHABLE pause, zero FAILED, resumes when it is back', async () => {
  const { remote, keys } = await startRemote();
  const COUNT = 10;
  const log = lineLog();
  const station = await openSimulatedStation({
    dir: dir('imprint-remote-station-'),
    count: COUNT,
    config: { realm: REALM, pairing: { mode: 'remote', url: remote.url } },
    agentToken: await mintAgentToken({ privateKey: keys.privateKeyPem }),
    log,
  });
  let killed: Promise<void> | undefined;
  let provisioned: string[] = [];
  station.on('counters', (e) => {
    // At least 3: counts may arrive for two fixtures at once.
    if (e.type === 'counters' && e.counters.done >= 3) killed ??= remote.kill();
  });
  try {
    await station.start();
    const pause = await log.paused();
    assert.equal(pause.code, 'PAIRING_CORE_UNREACHABLE');
    await killed;
    await log.retriesFailed(2);
    assert.equal(station.status().linePause?.code, 'PAIRING_CORE_UNREACHABLE');
    assert.equal(station.status().pairing.reachable, false);
    assert.equal(station.summary().failed, 0);
    await remote.start();
    await station.whenIdle();
    await station.stop();
    assert.equal(log.count('paused'), 1);
    assert.equal(station.status().pairing.reachable, true);
    assertNothingLost(station, COUNT);
    provisioned = station.db.devicesInState('provisioned').map((d) => d.deviceId);
  } finally {
    await station.close();
    await remote.kill();
  }
  // Every provisioned device is registered in the remote core, with the secret the station wrote.
  const core = await EmbeddedPairingCore.open({ dataDir: remote.dir });
  try {
    assert.equal(provisioned.length, COUNT);
    for (const id of provisioned) assert.equal((await core.showDevice(REALM, id)).registered, true);
  } finally {
    await core.close();
  }
});

test('station run with a refused agent token (401 bad signature, 403 out of scope): paused once, exit 6, zero FAILED', async () => {
  const { remote, keys } = await startRemote();
  const forged = await mintAgentToken({ privateKey: makeAgentKeyPair().privateKeyPem });
  const outOfScope = await mintAgentToken({ privateKey: keys.privateKeyPem, scopes: ['GET::devices/.*'] });
  const run = (token: string) =>
    imprint(
      [
        'station',
        'run',
        '--simulate',
        '2',
        '--count',
        '4',
        '--in-process',
        '--json',
        '--realm',
        REALM,
        '--pairing',
        remote.url,
        '--max-pause',
        '2',
        '--data',
        dir('imprint-token-'),
      ],
      { env: { IMPRINT_AGENT_TOKEN: token } },
    );
  for (const r of await Promise.all([run(forged), run(outOfScope)])) {
    assert.equal(r.code, 6, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.failed, 0, JSON.stringify(summary.failuresByCode));
    assert.equal(summary.linePause?.code, 'AGENT_TOKEN_REFUSED');
    assert.equal(r.stderr.match(/LINE PAUSED/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /Agent token refused/);
  }
});

test('a refused agent token pauses the station API; a valid token set in Settings resumes the line', async () => {
  const { remote, keys } = await startRemote();
  const data = dir('imprint-token-ui-');
  writeFileSync(
    join(data, 'station.json'),
    JSON.stringify({
      ...defaultStationConfig(),
      stationId: 'line-t',
      realm: REALM,
      pairing: { mode: 'remote', url: remote.url },
    }),
  );
  const secrets = new FileSecretStore(join(data, 'secrets.json'));
  await secrets.set(AGENT_TOKEN_SECRET, await mintAgentToken({ privateKey: makeAgentKeyPair().privateKeyPem }));
  const { auth } = OperatorAuth.open(data, { IMPRINT_ADMIN_PIN: '482915' });
  const service = await StationService.open({ dataDir: data, auth, secrets, simulate: { fixtures: 2, swapDelayMs: 0 } });
  // Checked again at every event the UI would get.
  let onEvent = () => {};
  const unsubscribe = service.subscribe(() => onEvent());
  const until = (ok: (s: StationStatus) => boolean) =>
    new Promise<StationStatus>((resolve) => {
      onEvent = () =>
        void service.getStatus().then((s) => {
          if (ok(s)) resolve(s);
        });
      onEvent();
    });
  try {
    await service.signIn({ name: 'admin', pin: '482915' });
    await service.openBatch('WO-TOKEN-REFUSED');
    await service.start();
    const paused = await until((s) => s.linePause !== undefined);
    assert.equal(paused.linePause?.code, 'AGENT_TOKEN_REFUSED');
    assert.match(paused.linePause?.action ?? '', /Settings/);
    assert.equal((await service.getStatus()).counters.failed, 0);

    await service.updateSettings({ pairing: { agentToken: await mintAgentToken({ privateKey: keys.privateKeyPem }) } }, '482915');
    await until((s) => s.running && s.linePause === undefined && s.counters.passed >= 3);
    await service.stop();
    const status = await service.getStatus();
    assert.equal(status.counters.failed, 0);
    assert.equal(status.linePause, undefined);
    const trail = service.current.audit;
    assert.equal(trail.query({ step: 'record', outcome: 'fail' }).length, 0, 'no device failed in the trail');
    assert.ok(trail.query({ step: 'line-pause' }).some((e) => e.errorCode === 'AGENT_TOKEN_REFUSED'));
  } finally {
    unsubscribe();
    await service.close();
  }
});
