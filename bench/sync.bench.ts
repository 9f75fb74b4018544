// `npm run bench:sync`: seconds to sync a 10,000-device offline batch with its audit events (about 9
// per device, as the station writes them) from a station data dir to a remote `imprint pairing serve`
// in its own process on loopback; devices/s and events/s, and the ratio to the 5 s target.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../src/audit/audit-trail.ts';
import type { AuditEventInput } from '../src/audit/audit-types.ts';
import { deriveDeviceId } from '../src/common/device-id.ts';
import { generateRealmKeyPair, mintAgentToken } from '../src/pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { SyncClient } from '../src/sync/sync-client.ts';
import { SyncState, syncStateFile } from '../src/sync/sync-state.ts';
import { createRemoteRealm, freePort, RemoteProcess } from '../test/sync/remote-process.ts';
import { enrolStation } from '../test/sync/sync-harness.ts';

const DEVICES = Number(process.env.SYNC_BENCH_DEVICES ?? 10_000);
const TARGET_S = 5 * (DEVICES / 10_000);
const REALM = 'bench';
const STATION = 'bench-line';
const STEPS = [
  'identify',
  'cross-check',
  'storage-status',
  'register',
  'write-secret',
  'verify',
  'lock',
  'write-config',
  'record',
];

async function makeStation(dir: string): Promise<{ events: number; batch: string }> {
  const core = await EmbeddedPairingCore.open({ dataDir: dir });
  await core.createRealm({ name: REALM, publicKeyPem: generateRealmKeyPair().publicKeyPem });
  const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION });
  const state = SyncState.open(syncStateFile(dir));
  const batch = await trail.openBatch({ workOrder: 'WO-BENCH', operator: 'ann', offline: true });
  const ids = Array.from({ length: DEVICES }, (_, i) => deriveDeviceId(`BENCH-${i}`));
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    await Promise.all(slice.map((id) => core.registerDevice(REALM, id)));
    const appends: Promise<unknown>[] = [];
    for (const [k, id] of slice.entries()) {
      state.recordOffline({
        realm: REALM,
        deviceId: id,
        batch: batch.id,
        registeredAt: new Date().toISOString(),
        operator: 'ann',
      });
      for (const step of STEPS) {
        const e: AuditEventInput = {
          station: STATION,
          operator: 'ann',
          fixture: `F${k % 4}`,
          batchId: batch.id,
          deviceId: id,
          hardwareSerial: `BENCH-${i + k}`,
          step,
          outcome: 'ok',
          durationMs: 12.5,
        };
        appends.push(trail.append(e));
      }
    }
    await Promise.all(appends);
  }
  await trail.closeBatch(batch.id);
  trail.close();
  state.close();
  await core.close();
  return { events: eventsIn(dir), batch: batch.id };
}

function eventsIn(dir: string): number {
  const t = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: STATION });
  try {
    return t.verify().events;
  } finally {
    t.close();
  }
}

const root = mkdtempSync(join(tmpdir(), 'imprint-sync-bench-'));
const remote = new RemoteProcess(join(root, 'remote'), await freePort());
try {
  const keys = generateRealmKeyPair();
  const stationDir = join(root, 'station');
  let t = performance.now();
  const { events } = await makeStation(stationDir);
  console.log(
    `setup: ${DEVICES.toLocaleString('en-US')} devices, ${events.toLocaleString('en-US')} audit events in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  await createRemoteRealm(remote.dir, REALM, keys.publicKeyPem);
  await remote.start();
  const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
  // Imports are accepted from enrolled stations only (docs/sync.md).
  await enrolStation({ url: remote.url, realm: REALM, token, dir: stationDir, stationId: STATION });
  const sync = () =>
    new SyncClient({ dataDir: stationDir, remoteUrl: remote.url, agentToken: token, realm: REALM, stationId: STATION });

  let deviceMs = 0;
  let phaseStart = performance.now();
  t = performance.now();
  const summary = await new SyncClient({
    dataDir: stationDir,
    remoteUrl: remote.url,
    agentToken: token,
    realm: REALM,
    stationId: STATION,
    onProgress: (p) => {
      if (p.phase === 'audit' && p.done === 0) {
        deviceMs = performance.now() - phaseStart;
        phaseStart = performance.now();
      }
    },
  }).run();
  const totalS = (performance.now() - t) / 1000;
  const auditS = (performance.now() - phaseStart) / 1000;
  if (summary.devices.imported !== DEVICES || summary.audit.acceptedUpTo !== summary.audit.localLastSeq)
    throw new Error(`incomplete sync: ${JSON.stringify(summary)}`);
  t = performance.now();
  const again = await sync().run();
  const resyncMs = performance.now() - t;

  console.log(
    `sync of ${DEVICES.toLocaleString('en-US')} devices + ${summary.audit.sent.toLocaleString('en-US')} events: ${totalS.toFixed(2)} s`,
  );
  console.log(
    `  devices: ${(DEVICES / (deviceMs / 1000)).toFixed(0)} devices/s (${(deviceMs / 1000).toFixed(2)} s, chunks of 1000, 2 in flight)`,
  );
  console.log(
    `  audit:   ${(summary.audit.sent / auditS).toFixed(0)} events/s (${auditS.toFixed(2)} s, chunks of 5000, each verified on arrival)`,
  );
  console.log(
    `  re-sync with nothing pending: ${resyncMs.toFixed(0)} ms (${again.devices.pending} devices, ${again.audit.sent} events sent)`,
  );
  const r = TARGET_S / totalS;
  console.log(`target ≤ ${TARGET_S} s: ${r.toFixed(2)}x target (${r >= 1 ? 'meets' : 'misses'})`);
  console.log(`machine: ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(2)}; remote in its own process on 127.0.0.1`);
} finally {
  await remote.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
