// CPU per request of the core's costly routes without HTTP (credentials, claims, /sign), in process:
// process.cpuUsage (all threads, user + kernel) over N requests, `--concurrency` at a time, durable
// SQLite store in a temp dir. Preemption by other processes is not CPU time of ours, so on a shared
// machine this is steadier than the HTTP benchmark: use it to compare code (before/after).
//   node --import tsx bench/core-cpu.bench.ts [--requests 600] [--concurrency 8] [--only credentials,claims,sign] [--root <checkout>]
// `--root` runs another checkout's core (src/) with this client.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { craftedCsr, ptreeJson } from '../test/pairing-sign/lmp-request.ts';
import { processTimes } from './fresh-connection-load.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '8' },
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    only: { type: 'string', default: 'credentials,claims,sign' },
  },
});
const only = new Set(values.only.split(','));
const N = Number(values.requests);
const C = Number(values.concurrency);
const src = (p: string) => import(join(resolve(values.root), 'src', p));

const { EmbeddedPairingCore } = await src('pairing/embedded-core.ts');
const { ClaimService } = await src('pairing/claims/claim-service.ts');
const { SignService } = await src('pairing/foundries/sign-service.ts');
const { CoreAudit, openCoreAuditSink } = await src('pairing/core-audit.ts');
const { generateRealmKeyPair } = await src('pairing/agent-token.ts');

const FACTORY = 'bench-plant';
const dir = mkdtempSync(join(tmpdir(), 'imprint-core-cpu-'));
const core = await EmbeddedPairingCore.open({ dataDir: dir });
await core.createRealm({ name: 'r', publicKeyPem: generateRealmKeyPair().publicKeyPem, brokerUrl: 'mqtts://b:8883/' });
await core.createRealm({ name: 'fio', publicKeyPem: generateRealmKeyPair().publicKeyPem, factory: FACTORY });
const sink = openCoreAuditSink(core.extension().store, dir);
const audit = new CoreAudit(sink);
const claims = await ClaimService.open(core, dir, { audit });
const sign = await SignService.open(core, { realm: 'fio', audit });

/** Requests [from, to) of `one`, C at a time. */
async function load(from: number, to: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < to) await one(next++);
    }),
  );
}

/** The first WARM requests (JIT, signing threads starting) are not counted. */
const WARM = 100;

async function measure(label: string, one: (i: number) => Promise<unknown>): Promise<void> {
  await load(0, WARM, one);
  const cpu = process.cpuUsage();
  const before = processTimes([process.pid]);
  await load(WARM, WARM + N, one);
  const used = process.cpuUsage(cpu);
  // The event loop's thread alone (Linux /proc; 10 ms ticks): the rest is V8's GC and compiler threads,
  // libuv's pool (the commits' fdatasync) and the store's checkpoint thread.
  const loop = processTimes([process.pid]).main - before.main;
  const per = (us: number) => Math.round(us / N);
  console.log(
    `${label.padEnd(12)} ${String(per(used.user + used.system)).padStart(6)} µs CPU/request (kernel ${per(used.system)}; event loop ${loop > 0 ? per(loop) : '-'})`,
  );
}

console.log(`core-cpu: ${N} requests, ${C} at a time, load ${loadavg()[0].toFixed(2)}, root ${values.root}`);
const csrs = Array.from({ length: WARM + N }, (_, i) => craftedCsr([['2.5.4.3', `device-${i}`]]));
const devices = await Promise.all(
  Array.from({ length: WARM + N }, async () => {
    const hwId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    const { credentialsSecret } = await core.registerDevice('r', hwId);
    return { hwId, credentialsSecret };
  }),
);
if (only.has('credentials'))
  await measure('credentials', (i) => core.requestCredentials('r', devices[i].hwId, devices[i].credentialsSecret, csrs[i]));
const { token } = await claims.createToken('r', { pairingUrl: 'https://core.bench/', expiresInSeconds: 3600 });
if (only.has('claims')) await measure('claims', (i) => claims.claim('r', token, `SN-${i}`));
const bodies = Array.from({ length: WARM + N }, () => {
  const uuid = randomUUID();
  const csr = craftedCsr([
    ['2.5.4.3', uuid],
    ['2.5.4.11', FACTORY],
    ['2.5.4.15', 'production'],
  ]);
  return ptreeJson({ name: uuid, uuid, csr, 'hardware-id': 'intel-corei7-64', 'sota-config-dir': '/var/sota' });
});
if (only.has('sign')) await measure('/sign', (i) => sign.signText(bodies[i]));
console.log(`signing: ${JSON.stringify(core.extension().ca.signingStats())}`);
await sink.close();
await core.close();
rmSync(dir, { recursive: true, force: true });
