// The pairing core as devices use it: every request on a new TCP (or TLS) connection, every request a
// different device (its own hw_id, secret and CSR), against `imprint pairing serve` started as plant IT
// starts it (its real logger, SQLite store, durable). wrk sends the list; the server's CPU comes from
// /proc. Per route: req/s, p50/p99, server CPU per request and its cost above the GET /health floor.
//   npm run bench:pairing -- --fresh-connections [--requests 2000 --sign-requests 1500 --connections 8]
//        [--tls] (also over HTTPS served by the core)  [--only health,sign,sign-lean]  [--profile DIR] (--cpu-prof)
//        [--rounds N] (every route N times in turn; the table gives medians, each round's floor its own)
// Targets (2-core machine, plain HTTP, server CPU above the floor): /sign ≤ 400 µs, credentials ≤ 300 µs,
// register ≤ 150 µs, info ≤ 100 µs; the floor itself < 300 µs. Ratios: target / measured (≥ 1 meets).

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selfSignedTls } from '../test/helpers/self-signed-tls.ts';
import {
  CN,
  ecCsr,
  type FreshRequest,
  type FreshResult,
  foundriesSignBody,
  haveWrk,
  imprint,
  loadLine,
  measured,
  runFresh,
  type ServeProcess,
  startServe,
} from './fresh-connection-load.ts';

const REALM = 'bench';
const SIGN_REALM = 'fio';
const FACTORY = 'bench-factory';

// sign-lean: POST /sign on the lean listener of `serve --sign-port` (src/pairing/http/sign-listener.ts).
type Route = 'health' | 'info' | 'register' | 'credentials' | 'claims' | 'sign' | 'sign-lean';
const ROUTES: Route[] = ['health', 'info', 'credentials', 'register', 'claims', 'sign', 'sign-lean'];
/** µs of server CPU above the /health floor (the floor's own: its whole cost). */
const TARGET_US: Partial<Record<Route, number>> = {
  health: 300,
  info: 100,
  register: 150,
  credentials: 300,
  sign: 400,
  'sign-lean': 400,
};

interface Row extends FreshResult {
  route: Route;
  /** Server CPU above the same round's /health floor (set when rows are medians of rounds). */
  aboveUs?: number;
  cpuUsPerRequest: number;
  systemUsPerRequest: number;
  /** The event loop's share (the main thread); the rest ran on V8's, libuv's and our own threads. */
  mainUsPerRequest: number;
  logBytesPerRequest: number;
  /** Store writes per durable commit during the run (NaN: no commit). */
  writesPerCommit: number;
  /** Share of the signing jobs that ran on a signing thread (the event loop was saturated). */
  threadedShare: number;
}

/** POST with keep-alive over http or https (the TLS variant's self-signed certificate trusted). */
function poster(base: string, caPem?: string) {
  const https = base.startsWith('https:');
  const agent = https ? new HttpsAgent({ keepAlive: true, ca: caPem }) : new HttpAgent({ keepAlive: true });
  return (path: string, authorization: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        new URL(path, base),
        { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.once('error', reject);
      req.end(body);
    });
}

/** The store's durable commits and the writes they carried, from GET /metrics (group commit at work). */
function commitCounters(
  base: string,
  caPem?: string,
): Promise<{ commits: number; writes: number; inline: number; threaded: number }> {
  const https = base.startsWith('https:');
  return new Promise((resolve, reject) => {
    (https ? httpsRequest : httpRequest)(new URL('/metrics', base), { ca: caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        const n = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
        const jobs = (on: string) =>
          Number(new RegExp(`^imprint_pairing_signing_jobs_total\\{on="${on}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
        resolve({
          commits: n('imprint_pairing_store_commits_total'),
          writes: n('imprint_pairing_store_writes_total'),
          inline: jobs('event_loop'),
          threaded: jobs('thread'),
        });
      });
    })
      .once('error', reject)
      .end();
  });
}

/** Registers `count` devices (16 at a time, keep-alive): their ids and secrets. */
async function registerDevices(base: string, agentToken: string, count: number, caPem?: string) {
  const post = poster(base, caPem);
  const devices: Array<{ id: string; secret: string }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        next++;
        const id = randomBytes(16).toString('base64url');
        const r = await post(`/v1/${REALM}/agent/devices`, `Bearer ${agentToken}`, JSON.stringify({ data: { hw_id: id } }));
        if (r.status !== 201) throw new Error(`setup registration failed: ${r.status} ${r.text}`);
        devices.push({ id, secret: JSON.parse(r.text).data.credentials_secret });
      }
    }),
  );
  return devices;
}

/** Each route's request list: `warmup` requests to run first, then `n` measured; every one a different device. */
async function requestLists(
  base: string,
  o: { n: number; signN: number; warmup: number; agentToken: string; claimToken: string; caPem?: string; only: Route[] },
): Promise<Record<Route, { warm: FreshRequest[]; run: FreshRequest[] }>> {
  const wants = (r: Route) => o.only.includes(r);
  const split = (all: FreshRequest[]) => ({ warm: all.slice(0, o.warmup), run: all.slice(o.warmup) });
  const total = o.n + o.warmup;
  const devices =
    wants('info') || wants('credentials') ? await registerDevices(base, o.agentToken, total, o.caPem) : ([] as never[]);
  const devicePath = (id: string) => `/v1/${REALM}/devices/${id}`;
  // Each /sign list its own UUIDs (the main port's and the lean listener's share one store).
  const signLists = (route: Route) =>
    wants(route)
      ? split(
          Array.from({ length: o.signN + o.warmup }, () => ({
            method: 'POST' as const,
            path: '/sign',
            body: foundriesSignBody(randomUUID(), FACTORY),
          })),
        )
      : { warm: [], run: [] };
  return {
    health: split(Array.from({ length: total }, () => ({ method: 'GET', path: '/health' }))),
    info: split(devices.map((d) => ({ method: 'GET', path: devicePath(d.id), authorization: `Bearer ${d.secret}` }))),
    credentials: split(
      wants('credentials')
        ? devices.map((d) => ({
            method: 'POST',
            path: `${devicePath(d.id)}/protocols/astarte_mqtt_v1/credentials`,
            authorization: `Bearer ${d.secret}`,
            body: JSON.stringify({ data: { csr: ecCsr([[CN, 'device']]) } }),
          }))
        : [],
    ),
    register: split(
      Array.from({ length: total }, () => ({
        method: 'POST',
        path: `/v1/${REALM}/agent/devices`,
        authorization: `Bearer ${o.agentToken}`,
        body: JSON.stringify({ data: { hw_id: randomBytes(16).toString('base64url') } }),
      })),
    ),
    claims: split(
      Array.from({ length: total }, (_, i) => ({
        method: 'POST',
        path: `/v1/${REALM}/claims`,
        body: JSON.stringify({ data: { token: o.claimToken, manufacturer_id: `SN-${randomBytes(4).toString('hex')}-${i}` } }),
      })),
    ),
    sign: signLists('sign'),
    'sign-lean': signLists('sign-lean'),
  };
}

async function runVariant(
  tls: boolean,
  dataDir: string,
  o: {
    n: number;
    signN: number;
    warmup: number;
    connections: number;
    agentToken: string;
    claimToken: string;
    only: Route[];
    nodeArgs: string[];
    rounds: number;
  },
): Promise<Row[][]> {
  const tlsFiles = tls ? selfSignedTls(dataDir) : undefined;
  const logFile = join(dataDir, `serve-${tls ? 'https' : 'http'}.log`);
  const serve: ServeProcess = await startServe(
    [
      '--data',
      dataDir,
      '--sign-realm',
      SIGN_REALM,
      '--sign-port',
      '0',
      ...(tlsFiles ? ['--tls-cert', tlsFiles.cert, '--tls-key', tlsFiles.key] : []),
      // e.g. BENCH_SERVE_ARGS='--signing-threads 0'
      ...(process.env.BENCH_SERVE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    logFile,
    o.nodeArgs,
  );
  try {
    process.stdout.write(`${tls ? 'HTTPS' : 'HTTP'}: preparing devices, CSRs and request lists… `);
    const caPem = tlsFiles && readFileSync(tlsFiles.cert, 'utf8');
    // Every request of every round a different device: the lists hold all rounds, each round takes its slice.
    const lists = await requestLists(serve.url, { ...o, n: o.n * o.rounds, signN: o.signN * o.rounds, caPem });
    console.log('done');
    const rounds: Row[][] = [];
    for (let k = 0; k < o.rounds; k++) {
      const rows: Row[] = [];
      for (const route of ROUTES.filter((r) => o.only.includes(r))) {
        const { warm, run: all } = lists[route];
        const url = route === 'sign-lean' ? (serve.signUrl ?? '') : serve.url;
        if (k === 0 && warm.length > 0) await runFresh(url, warm, { connections: o.connections });
        const per = all.length / o.rounds;
        const run = all.slice(k * per, (k + 1) * per);
        const log0 = serve.logBytes();
        const c0 = await commitCounters(serve.url, caPem);
        const r = await measured(
          () => [serve.pid],
          () => runFresh(url, run, { connections: o.connections }),
        );
        const c1 = await commitCounters(serve.url, caPem);
        rows.push({
          route,
          ...r,
          logBytesPerRequest: (serve.logBytes() - log0) / Math.max(1, r.sent),
          writesPerCommit: (c1.writes - c0.writes) / (c1.commits - c0.commits),
          threadedShare: (c1.threaded - c0.threaded) / (c1.threaded - c0.threaded + c1.inline - c0.inline),
        });
        process.stdout.write(`${route} `);
      }
      rounds.push(rows);
    }
    console.log();
    return rounds;
  } finally {
    await serve.stop();
  }
}

const routeLabel = (r: Route) => (r === 'sign' ? '/sign' : r === 'sign-lean' ? '/sign lean' : r);

const median = (xs: number[]): number => {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? Number.NaN : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/** Row i's server CPU above its own round's /health floor (the floor's own: its whole cost). */
function aboveFloor(rows: Row[], i: number): number {
  if (rows[i].route === 'health') return rows[i].cpuUsPerRequest;
  return rows[i].cpuUsPerRequest - (rows.find((r) => r.route === 'health')?.cpuUsPerRequest ?? Number.NaN);
}

/** Each route's median over the rounds, its CPU above the floor taken round by round (that round's /health). */
function medianRows(rounds: Row[][]): Row[] {
  return rounds[0].map((first, i) => {
    const all = rounds.map((rows) => rows[i]);
    const m = (f: (r: Row) => number) => median(all.map(f));
    return {
      ...first,
      sent: all.reduce((n, r) => n + r.sent, 0),
      completed: all.reduce((n, r) => n + r.completed, 0),
      failed: all.reduce((n, r) => n + r.failed, 0),
      seconds: all.reduce((n, r) => n + r.seconds, 0),
      rps: m((r) => r.rps),
      p50Ms: m((r) => r.p50Ms),
      p99Ms: m((r) => r.p99Ms),
      cpuUsPerRequest: m((r) => r.cpuUsPerRequest),
      systemUsPerRequest: m((r) => r.systemUsPerRequest),
      mainUsPerRequest: m((r) => r.mainUsPerRequest),
      logBytesPerRequest: m((r) => r.logBytesPerRequest),
      writesPerCommit: m((r) => r.writesPerCommit),
      threadedShare: m((r) => r.threadedShare),
      aboveUs: first.route === 'health' ? undefined : median(rounds.map((rows) => aboveFloor(rows, i))),
    };
  });
}

function printTable(title: string, rounds: Row[][], connections: number): void {
  const rows = rounds.length === 1 ? rounds[0] : medianRows(rounds);
  const floor = rows.find((r) => r.route === 'health')?.cpuUsPerRequest;
  const of = rounds.length === 1 ? '' : `, medians of ${rounds.length} rounds`;
  console.log(`\n${title}: a new connection per request, ${connections} at a time, every request a different device${of}`);
  console.log(
    'route        requests    req/s   p50 ms   p99 ms  server CPU µs/req (kernel)  loop µs  above /health µs  target µs  ratio  log B/req  writes/commit  on thread  failed',
  );
  for (const r of rows) {
    const above =
      r.route === 'health' ? r.cpuUsPerRequest : (r.aboveUs ?? (floor === undefined ? undefined : r.cpuUsPerRequest - floor));
    const target = TARGET_US[r.route];
    const ratio = above !== undefined && target !== undefined ? (target / Math.max(1, above)).toFixed(2) : '-';
    console.log(
      `${routeLabel(r.route).padEnd(11)} ${String(r.sent).padStart(9)} ${r.rps.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${r.cpuUsPerRequest.toFixed(0).padStart(18)} ${`(${r.systemUsPerRequest.toFixed(0)})`.padStart(8)} ${r.mainUsPerRequest.toFixed(0).padStart(8)} ${(above === undefined ? '-' : above.toFixed(0)).padStart(17)} ${String(target ?? '-').padStart(10)} ${ratio.padStart(6)} ${r.logBytesPerRequest.toFixed(0).padStart(10)} ${(Number.isNaN(r.writesPerCommit) ? '-' : r.writesPerCommit.toFixed(1)).padStart(14)} ${(Number.isNaN(r.threadedShare) ? '-' : `${(100 * r.threadedShare).toFixed(0)} %`).padStart(10)} ${String(r.failed).padStart(7)}`,
    );
  }
  if (rounds.length > 1) {
    for (const [i, r] of rounds[0].entries()) {
      const per = rounds.map((rows) => aboveFloor(rows, i).toFixed(0));
      console.log(`  ${routeLabel(r.route).padEnd(11)} by round: ${per.join(', ')} µs`);
    }
  }
  console.log('(health: its whole cost is the floor; ratio = target / measured, ≥ 1 meets; targets are for plain HTTP)');
}

export async function freshConnectionsBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      requests: { type: 'string', default: '2000' },
      'sign-requests': { type: 'string', default: '1500' },
      warmup: { type: 'string', default: '1500' },
      connections: { type: 'string', default: '8' },
      tls: { type: 'boolean', default: false },
      only: { type: 'string', default: '' },
      profile: { type: 'string' },
      rounds: { type: 'string', default: '1' },
    },
  });
  if (!haveWrk()) {
    console.log('The fresh-connection benchmark needs wrk (Debian: apt-get install wrk).');
    process.exitCode = 1;
    return;
  }
  const only = String(values.only ?? '')
    .split(',')
    .filter(Boolean)
    .map((r) => (r === '/sign' ? 'sign' : r)) as Route[];
  // The floor is always measured: every other route is reported above it.
  const routes = only.length ? [...new Set<Route>(['health', ...only])] : ROUTES;
  // e.g. BENCH_SERVER_NODE_ARGS=--perf-basic-prof, as the keep-alive bench takes it.
  const nodeArgs: string[] = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (typeof values.profile === 'string') {
    mkdirSync(values.profile, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${values.profile}`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-fresh-bench-'));
  try {
    console.log(`before: ${loadLine()}`);
    process.stdout.write('setting up realms and tokens with the imprint CLI… ');
    imprint(['pairing', 'keygen', '--out', dataDir]);
    const publicKey = join(dataDir, 'realm-public.pem');
    imprint(['pairing', 'realm', 'create', REALM, '--public-key', publicKey, '--data', dataDir]);
    imprint(['pairing', 'realm', 'create', SIGN_REALM, '--public-key', publicKey, '--factory', FACTORY, '--data', dataDir]);
    const claimToken = imprint(['pairing', 'claim-token', 'create', REALM, '--data', dataDir, '--expires', '1d']).trim();
    const agentToken = imprint(['pairing', 'token', '--private-key', join(dataDir, 'realm-private.pem'), '--ttl', '7200']).trim();
    console.log('done');
    const o = {
      n: Number(values.requests),
      signN: Number(values['sign-requests']),
      warmup: Number(values.warmup),
      connections: Number(values.connections),
      agentToken,
      claimToken,
      only: routes,
      nodeArgs,
      rounds: Math.max(1, Math.floor(Number(values.rounds) || 1)),
    };
    const http = await runVariant(false, dataDir, o);
    printTable('plain HTTP', http, o.connections);
    if (values.tls) {
      const https = await runVariant(true, dataDir, o);
      printTable('HTTPS served by the core (full handshake per request: wrk does not resume sessions)', https, o.connections);
    }
    console.log(`after: ${loadLine()}; other processes share the CPU (server CPU per request is robust to them, req/s is not)`);
    if (typeof values.profile === 'string') console.log(`CPU profiles (.cpuprofile) in ${values.profile}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
