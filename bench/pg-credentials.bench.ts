// The PostgreSQL store's share of a credentials request, without HTTP or the CA: what `/credentials`
// asks the store (the device read that authenticates, then recordCredentials), N requests in flight
// on one instance, durable. Prints requests/s, this process's CPU per request (the client: postgres
// driver, group commit), PostgreSQL's CPU per request (the run's backends and the WAL writer, from
// /proc) and the requests each commit carried. Usage:
//   node --import tsx bench/pg-credentials.bench.ts [--seconds 5] [--inflight 64] [--devices 1024] [--pg-url postgres://…]
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { PostgresPairingStore } from '../src/pairing/store/pg-store.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '64' },
    devices: { type: 'string', default: '1024' },
    'pg-url': {
      type: 'string',
      default: process.env.IMPRINT_TEST_PG_URL ?? 'postgres://imprint:imprint@127.0.0.1:5432/imprint_test',
    },
  },
});
const AT = new Date().toISOString();

function cpuUs(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      sum += (Number(f[11]) + Number(f[12])) * 10_000;
    } catch {}
  }
  return sum;
}

const schema = `bench_${randomBytes(5).toString('hex')}`;
const admin = postgres(String(values['pg-url']), { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE SCHEMA ${schema}`);
const url = new URL(String(values['pg-url']));
url.searchParams.set('search_path', schema);
url.searchParams.set('application_name', schema);
const store = await PostgresPairingStore.connect({ url: url.toString() });
try {
  await store.realms.create({
    name: 'bench',
    publicKeyPem: 'k',
    brokerUrl: 'mqtts://b:8883/',
    deviceRegistrationLimit: null,
    deviceIdNamespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
    factory: null,
    createdAt: AT,
  });
  const ids = Array.from({ length: Number(values.devices) }, () => randomBytes(16).toString('base64url'));
  await Promise.all(
    ids.map((deviceId) =>
      store.devices.register({ realm: 'bench', deviceId, secretHash: `h-${deviceId}`, initialIntrospection: null, at: AT }),
    ),
  );
  const pids = (
    await admin<
      { pid: number }[]
    >`SELECT pid FROM pg_stat_activity WHERE application_name = ${schema} OR backend_type = 'walwriter'`
  ).map((r) => r.pid);
  let next = 0;
  let done = 0;
  const end = performance.now() + Number(values.seconds) * 1000;
  const c0 = process.cpuUsage();
  const p0 = cpuUs(pids);
  const s0 = store.commitStats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Number(values.inflight) }, async () => {
      while (performance.now() < end) {
        const deviceId = ids[next++ % ids.length];
        const d = await store.devices.get('bench', deviceId);
        const o = await store.devices.recordCredentials({
          realm: 'bench',
          deviceId,
          secretHash: d?.secretHash ?? '',
          serialHex: randomBytes(16).toString('hex'),
          notAfter: AT,
          at: AT,
        });
        if (o !== 'issued') throw new Error(`credentials ${o}`);
        done++;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const pg = cpuUs(pids) - p0;
  const s1 = store.commitStats();
  const [l1] = loadavg();
  console.log(
    `credentials (store only): ${(done / wall).toFixed(0)}/s, client CPU ${((c.user + c.system) / done).toFixed(0)} µs/req, ` +
      `PostgreSQL CPU ${(pg / done).toFixed(0)} µs/req, ${((s1.writes - s0.writes) / Math.max(1, s1.batches - s0.batches)).toFixed(1)} writes per commit ` +
      `(${values.inflight} in flight; load ${l1.toFixed(1)} on ${cpus().length} cores)`,
  );
} finally {
  await store.close();
  await admin.unsafe(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
