// Pairing API over loopback HTTP: requests/s and p50/p99 latency for register (durable), info and
// credentials (ECDSA P-256 CSRs), with autocannon for a bounded time per scenario. The server runs
// in a child process (its own core), autocannon in this one. Usage:
//   npm run bench:pairing [-- --duration 5 --connections 64]
// Targets (issue 2, 2-core machine): register ≥ 5,000/s, info ≥ 10,000/s, credentials ≥ 3,000/s.
// Then bench/claims.bench.ts: claims/s and Foundries /sign/s (issue 7).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateRealmKeyPair, mintAgentToken } from '../src/pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { servePairing } from '../src/pairing/http/server.ts';
import { makeDeviceCsr } from '../test/helpers/pairing-keys.ts';
import { claimsBench } from './claims.bench.ts';
import { autocannon, type LoadRequest } from './load-generator.ts';

const REALM = 'bench';

// ---- child: the server --------------------------------------------------------------------------
if (process.argv.includes('--child-server')) {
  const dataDir = process.env.BENCH_DATA_DIR ?? '';
  const core = await EmbeddedPairingCore.open({ dataDir });
  await core.createRealm({ name: REALM, publicKeyPem: process.env.BENCH_PUBLIC_KEY ?? '', brokerUrl: 'mqtts://broker.bench:8883/' });
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
} else {
  await main();
  // Device-initiated registration (issue 7): claims/s and /sign/s, same options.
  if (!process.argv.some((a) => a.startsWith('--only'))) await claimsBench(process.argv.slice(2));
}

// ---- parent: the load ---------------------------------------------------------------------------
interface Scenario {
  name: string;
  target: number;
  requests: LoadRequest[];
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  target: number;
  cpuUs: number;
}

function startServer(dataDir: string, publicKeyPem: string): Promise<{ child: ChildProcess; url: string }> {
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
      env: { ...process.env, BENCH_DATA_DIR: dataDir, BENCH_PUBLIC_KEY: publicKeyPem },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not start within 30 s')), 30_000);
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

async function load(url: string, requests: LoadRequest[], seconds: number, connections: number) {
  return autocannon({ url, connections, duration: seconds, pipelining: 1, requests });
}

async function post(url: string, path: string, auth: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
      devices: { type: 'string', default: '256' },
      // e.g. --only credentials: run just the named scenarios (comma-separated), and skip the claims bench.
      only: { type: 'string', default: '' },
    },
    strict: false,
  });
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const deviceCount = Number(values.devices);

  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-pairing-bench-'));
  const keys = generateRealmKeyPair();
  const { child, url } = await startServer(dataDir, keys.publicKeyPem);
  try {
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem, ttlSeconds: 3600 });
    const auth = `Bearer ${token}`;
    const registerPath = `/v1/${REALM}/agent/devices`;

    // Devices for info and credentials, each with its secret and an ECDSA P-256 CSR.
    process.stdout.write(`preparing ${deviceCount} devices and CSRs… `);
    const devices: Array<{ id: string; secret: string; csrBody: string }> = [];
    for (let i = 0; i < deviceCount; i++) {
      const id = randomBytes(16).toString('base64url');
      const r = await post(url, registerPath, token, { data: { hw_id: id } });
      if (r.status !== 201) throw new Error(`setup registration failed: ${r.status}`);
      const secret = (r.json as { data: { credentials_secret: string } }).data.credentials_secret;
      devices.push({ id, secret, csrBody: JSON.stringify({ data: { csr: makeDeviceCsr({ type: 'ec' }).csrPem } }) });
    }
    console.log('done');

    // Static request lists (autocannon pre-builds them and cycles through them per connection);
    // register alone needs a fresh body per request.
    const scenarios: Scenario[] = [
      {
        name: 'register',
        target: 5000,
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
        target: 10000,
        requests: devices.map((d) => ({
          method: 'GET',
          path: `/v1/${REALM}/devices/${d.id}`,
          headers: { authorization: `Bearer ${d.secret}` },
        })),
      },
      {
        name: 'credentials',
        target: 3000,
        requests: devices.map((d) => ({
          method: 'POST',
          path: `/v1/${REALM}/devices/${d.id}/protocols/astarte_mqtt_v1/credentials`,
          headers: { authorization: `Bearer ${d.secret}`, 'content-type': 'application/json' },
          body: d.csrBody,
        })),
      },
    ];

    const only = String(values.only ?? '')
      .split(',')
      .filter(Boolean);
    const rows: Row[] = [];
    for (const sc of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
      if (warmup > 0) await load(url, sc.requests, warmup, connections);
      const cpu0 = await serverCpu(child);
      const r = await load(url, sc.requests, duration, connections);
      const cpuUs = ((await serverCpu(child)) - cpu0) / Math.max(1, r.requests.total);
      rows.push({
        cpuUs,
        name: sc.name,
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        target: sc.target,
      });
    }

    console.log(
      `\npairing API over loopback HTTP: ${connections} connections, ${duration} s per scenario (+${warmup} s warm-up)`,
    );
    console.log('scenario        req/s     p50 ms   p99 ms   target/s   ratio   server CPU µs/req   non-2xx  errors');
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(12)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(10)} ${r.p99.toFixed(1).padStart(8)} ${String(r.target).padStart(10)} ${(r.rps / r.target).toFixed(2).padStart(7)} ${r.cpuUs.toFixed(0).padStart(19)} ${String(r.non2xx).padStart(9)} ${String(r.errors).padStart(7)}`,
      );
    }
    const [load1] = (await import('node:os')).loadavg();
    console.log(`(load average during the run: ${load1.toFixed(1)} on ${(await import('node:os')).cpus().length} cores)`);
    if (rows.some((r) => r.non2xx > 0 || r.errors > 0)) {
      console.log('\nWARNING: some requests failed (non-2xx or errors): figures are not valid.');
      process.exitCode = 1;
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
