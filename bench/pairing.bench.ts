// Pairing API over loopback HTTP: requests/s and p50/p99 latency for register (durable), info and
// credentials (ECDSA P-256 CSRs), with autocannon for a bounded time per scenario. Servers run in
// child processes (`imprint pairing serve`'s core and HTTP stack), autocannon in this one. Usage:
//   npm run bench:pairing [-- --duration 5 --connections 64]
//   npm run bench:pairing -- --store postgres [--pg-url postgres://…]   (SQLite ×1, PostgreSQL ×1 and ×2)
//   npm run bench:pairing -- --fresh-connections [--tls]   (a new connection per request: bench/fresh-connections.bench.ts)
// Targets (2-core machine): embedded SQLite, durable: register ≥ 8,000/s, info ≥ 15,000/s, credentials ≥ 4,000/s;
// PostgreSQL, 1 instance, durable: register ≥ 3,000/s, info ≥ 8,000/s, credentials ≥ 2,500/s.
// Besides the server's CPU per request it prints PostgreSQL's: the run's own sessions (found by
// application_name) and the WAL writer, from /proc. Then bench/claims.bench.ts: claims/s and /sign/s (issue 7).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { generateRealmKeyPair, mintAgentToken } from '../src/pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { servePairing } from '../src/pairing/http/server.ts';
import { makeDeviceCsr } from '../test/helpers/pairing-keys.ts';
import { claimsBench } from './claims.bench.ts';
import { freshConnectionsBench } from './fresh-connections.bench.ts';
import { autocannon, type LoadRequest, type LoadResult } from './load-generator.ts';

const REALM = 'bench';
const DEFAULT_PG_URL = process.env.IMPRINT_TEST_PG_URL ?? 'postgres://imprint:imprint@127.0.0.1:5432/imprint_test';

// ---- child: a server ------------------------------------------------------------------------------
const isChild = process.argv.includes('--child-server');
if (isChild) {
  const dataDir = process.env.BENCH_DATA_DIR ?? '';
  const core = await EmbeddedPairingCore.open({
    dataDir,
    store: process.env.BENCH_STORE || undefined,
    poolSize: process.env.BENCH_POOL ? Number(process.env.BENCH_POOL) : undefined,
    // e.g. BENCH_SIGNING_THREADS=0: every CSR check and signature on the event loop.
    signingThreads: process.env.BENCH_SIGNING_THREADS ? Number(process.env.BENCH_SIGNING_THREADS) : undefined,
  });
  if (!core.getRealm(REALM))
    await core.createRealm({
      name: REALM,
      publicKeyPem: process.env.BENCH_PUBLIC_KEY ?? '',
      brokerUrl: 'mqtts://broker.bench:8883/',
    });
  const server = await servePairing({ core, host: '127.0.0.1', port: 0 });
  process.send?.({ url: server.url });
  // CPU time of the server per request is robust to other load on the machine: the parent asks.
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => core.close())
      .finally(() => process.exit(0));
  });
}

// ---- parent: the load ---------------------------------------------------------------------------
interface Scenario {
  name: 'register' | 'info' | 'credentials';
  requests: LoadRequest[];
}

interface Config {
  label: string;
  /** postgres:// URL with its own schema, or undefined for the embedded store. */
  store?: string;
  /** The run's PostgreSQL sessions: their application_name, and a connection to find them. */
  pg?: { admin: postgres.Sql; app: string };
  instances: number;
  targets: Record<Scenario['name'], number>;
}

interface Row {
  config: string;
  name: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  target: number;
  cpuUs: number;
  pgCpuUs: number | undefined;
}

const SQLITE_TARGETS = { register: 8000, info: 15000, credentials: 4000 };
const PG_TARGETS = { register: 3000, info: 8000, credentials: 2500 };

function startServer(
  dataDir: string,
  publicKeyPem: string,
  store: string | undefined,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--child-server',
    ],
    {
      env: { ...process.env, BENCH_DATA_DIR: dataDir, BENCH_PUBLIC_KEY: publicKeyPem, BENCH_STORE: store ?? '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not start within 60 s')), 60_000);
    child.once('message', (m: { url: string }) => {
      clearTimeout(timer);
      resolve({ child, url: m.url });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
}

function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });
}

/** CPU time of processes, µs (Linux /proc; undefined elsewhere). */
function processCpuUs(pids: number[]): number | undefined {
  try {
    let sum = 0;
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        sum += (Number(f[11]) + Number(f[12])) * (1e6 / 100); // USER_HZ ticks
      } catch {}
    }
    return sum;
  } catch {
    return undefined;
  }
}

/** The PostgreSQL backends serving this run's instances (their application_name), and the server's WAL writer. */
async function backendPids(admin: postgres.Sql, app: string): Promise<number[]> {
  const rows = await admin<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE application_name = ${app} OR backend_type = 'walwriter'`;
  return rows.map((r) => r.pid);
}

/** The same load on every instance at once (connections split between them); results combined. */
async function load(urls: string[], requests: LoadRequest[], seconds: number, connections: number) {
  const each = Math.max(1, Math.floor(connections / urls.length));
  const rs: LoadResult[] = await Promise.all(
    urls.map((url) => autocannon({ url, connections: each, duration: seconds, pipelining: 1, requests })),
  );
  return {
    rps: rs.reduce((s, r) => s + r.requests.average, 0),
    total: rs.reduce((s, r) => s + r.requests.total, 0),
    p50: Math.max(...rs.map((r) => r.latency.p50)),
    p99: Math.max(...rs.map((r) => r.latency.p99)),
    failed: rs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0),
  };
}

async function post(url: string, path: string, auth: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function runConfig(
  cfg: Config,
  o: { duration: number; warmup: number; connections: number; deviceCount: number; only: string[] },
): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-pairing-bench-'));
  const keys = generateRealmKeyPair();
  const servers: { child: ChildProcess; url: string }[] = [];
  try {
    // The first instance creates the realm (and the CA the others share, in the same data dir).
    servers.push(await startServer(dataDir, keys.publicKeyPem, cfg.store));
    for (let i = 1; i < cfg.instances; i++) servers.push(await startServer(dataDir, keys.publicKeyPem, cfg.store));
    const urls = servers.map((s) => s.url);
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem, ttlSeconds: 3600 });
    const auth = `Bearer ${token}`;
    const registerPath = `/v1/${REALM}/agent/devices`;
    process.stdout.write(`${cfg.label}: preparing ${o.deviceCount} devices and CSRs… `);
    const devices: Array<{ id: string; secret: string; csrBody: string }> = [];
    for (let i = 0; i < o.deviceCount; i++) {
      const id = randomBytes(16).toString('base64url');
      const r = await post(urls[0], registerPath, token, { data: { hw_id: id } });
      if (r.status !== 201) throw new Error(`setup registration failed: ${r.status}`);
      const secret = (r.json as { data: { credentials_secret: string } }).data.credentials_secret;
      devices.push({ id, secret, csrBody: JSON.stringify({ data: { csr: makeDeviceCsr({ type: 'ec' }).csrPem } }) });
    }
    console.log('done');
    // Each request takes the next device, round robin over all connections: every connection
    // cycling one list from its start would hit the same device at the same moment, which devices
    // in the field never do (and which a row-locking store serializes). Register: a new device each.
    let next = 0;
    const nextDevice =
      (make: (d: (typeof devices)[number], req: LoadRequest) => LoadRequest) =>
      (req: LoadRequest): LoadRequest =>
        make(devices[next++ % devices.length], req);
    const scenarios: Scenario[] = [
      {
        name: 'register',
        requests: [
          {
            method: 'POST',
            path: registerPath,
            headers: { authorization: auth, 'content-type': 'application/json' },
            // A fresh device id per request: each one is a new durable registration.
            setupRequest: (req) => {
              req.body = `{"data":{"hw_id":"${randomBytes(16).toString('base64url')}"}}`;
              return req;
            },
          },
        ],
      },
      {
        name: 'info',
        requests: [
          {
            method: 'GET',
            setupRequest: nextDevice((d, req) => ({
              ...req,
              path: `/v1/${REALM}/devices/${d.id}`,
              headers: { authorization: `Bearer ${d.secret}` },
            })),
          },
        ],
      },
      {
        name: 'credentials',
        requests: [
          {
            method: 'POST',
            setupRequest: nextDevice((d, req) => ({
              ...req,
              path: `/v1/${REALM}/devices/${d.id}/protocols/astarte_mqtt_v1/credentials`,
              headers: { authorization: `Bearer ${d.secret}`, 'content-type': 'application/json' },
              body: d.csrBody,
            })),
          },
        ],
      },
    ];
    const rows: Row[] = [];
    for (const sc of scenarios.filter((s) => o.only.length === 0 || o.only.includes(s.name))) {
      if (o.warmup > 0) await load(urls, sc.requests, o.warmup, o.connections);
      const cpu0 = await Promise.all(servers.map((s) => serverCpu(s.child)));
      const pids = cfg.pg ? await backendPids(cfg.pg.admin, cfg.pg.app) : [];
      const pg0 = cfg.pg ? processCpuUs(pids) : undefined;
      const r = await load(urls, sc.requests, o.duration, o.connections);
      const pg1 = cfg.pg ? processCpuUs(pids) : undefined;
      const cpu1 = await Promise.all(servers.map((s) => serverCpu(s.child)));
      const total = Math.max(1, r.total);
      rows.push({
        config: cfg.label,
        name: sc.name,
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        failed: r.failed,
        target: cfg.targets[sc.name],
        cpuUs: cpu1.reduce((s, c, i) => s + c - cpu0[i], 0) / total,
        pgCpuUs: pg0 !== undefined && pg1 !== undefined ? (pg1 - pg0) / total : undefined,
      });
    }
    return rows;
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => (s.child.exitCode !== null ? null : new Promise((r) => s.child.once('exit', r)))));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A schema of its own on the benchmark's PostgreSQL server (sessions named after it), dropped afterwards. */
async function withSchema<T>(
  baseUrl: string,
  fn: (url: string, pg: { admin: postgres.Sql; app: string }) => Promise<T>,
): Promise<T> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE SCHEMA ${name}`);
    const u = new URL(baseUrl);
    u.searchParams.set('search_path', name);
    u.searchParams.set('application_name', name);
    return await fn(u.toString(), { admin, app: name });
  } finally {
    await admin.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => {});
    await admin.end({ timeout: 5 });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
      devices: { type: 'string', default: '256' },
      // sqlite (default) or postgres: with postgres, SQLite ×1 and PostgreSQL ×1 and ×2 instances in one run.
      store: { type: 'string', default: 'sqlite' },
      'pg-url': { type: 'string', default: DEFAULT_PG_URL },
      // e.g. --only credentials: run just the named scenarios (comma-separated), and skip the claims bench.
      only: { type: 'string', default: '' },
    },
    strict: false,
  });
  const o = {
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
    deviceCount: Number(values.devices),
    only: String(values.only ?? '')
      .split(',')
      .filter(Boolean),
  };
  const rows: Row[] = [];
  rows.push(...(await runConfig({ label: 'sqlite ×1', instances: 1, targets: SQLITE_TARGETS }, o)));
  const pgUrl = String(values['pg-url']);
  if (values.store === 'postgres') {
    for (const instances of [1, 2])
      rows.push(
        ...(await withSchema(pgUrl, (store, pg) =>
          runConfig({ label: `postgres ×${instances}`, store, pg, instances, targets: PG_TARGETS }, o),
        )),
      );
  }
  console.log(
    `\npairing API over loopback HTTP: ${o.connections} connections (split between instances), ${o.duration} s per scenario (+${o.warmup} s warm-up)`,
  );
  console.log(
    'store         scenario       req/s   p50 ms   p99 ms  target/s  ratio  server CPU µs/req  PostgreSQL CPU µs/req  failed',
  );
  for (const r of rows) {
    console.log(
      `${r.config.padEnd(13)} ${r.name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.target).padStart(9)} ${(r.rps / r.target).toFixed(2).padStart(6)} ${r.cpuUs.toFixed(0).padStart(18)} ${(r.pgCpuUs === undefined ? '-' : r.pgCpuUs.toFixed(0)).padStart(22)} ${String(r.failed).padStart(7)}`,
    );
  }
  const [l1, l5] = loadavg();
  console.log(
    `(load average ${l1.toFixed(1)} / ${l5.toFixed(1)} (1 / 5 min) on ${cpus().length} cores: other processes share the CPU; targets apply to 1 instance)`,
  );
  if (rows.some((r) => r.failed > 0)) {
    console.log('\nWARNING: some requests failed (non-2xx, errors or timeouts): figures are not valid.');
    process.exitCode = 1;
  }
  // Device-initiated registration (issue 7): claims/s and /sign/s, same options, embedded store.
  if (o.only.length === 0 && values.store !== 'postgres') await claimsBench(process.argv.slice(2));
}

if (!isChild) {
  if (process.argv.includes('--fresh-connections')) await freshConnectionsBench(process.argv.slice(2));
  else await main();
}
