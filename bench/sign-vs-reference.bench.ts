// Our POST /sign beside Foundries' factory-registration-ref (Python/Flask under gunicorn, 4 workers, as its
// docker_run.sh starts it): the same wrk client, the same CSR bodies (lmp-device-register's), a new
// connection per request, alternating runs. Prints req/s and server CPU per request (all the server's
// processes, from /proc) for both, and the ratios. Goal: ours ≤ ¼ of the reference's CPU per request, more req/s.
// Ours runs twice per round: /sign on the main port (Fastify, with the whole Pairing API) and on the lean
// listener of `serve --sign-port` (src/pairing/http/sign-listener.ts), the port devices are pointed at.
//   node --import tsx bench/sign-vs-reference.bench.ts --reference PATH [--requests 10000 --rounds 2 --connections 8]
// 10,000 measured requests by default: after the pause before each measured run V8 optimises ~120 functions
// again (traced with --trace-opt), ~200 ms of its compiler threads once: ~50 µs per request over 4,000, ~17
// over 12,000. That is a cost per pause, not per request; `--requests 1000` shows it.
// PATH: a checkout of github.com/foundriesio/factory-registration-ref, or its git directory (read with git
// archive); default $IMPRINT_REFERENCE_REF. Needs Debian's gunicorn, python3-flask, python3-cryptography, python3-requests.
// The reference's code is run from a temporary directory, never copied into this repository.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  type FreshRequest,
  foundriesSignBody,
  haveWrk,
  imprint,
  loadLine,
  measured,
  processTree,
  runFresh,
  startServe,
} from './fresh-connection-load.ts';

const FACTORY = 'bench-factory';
const SIGN_REALM = 'fio';

/** The reference's sources in a directory of their own: a checkout as is, a git directory through git archive. */
function referenceSources(path: string, scratch: string): string | undefined {
  if (existsSync(join(path, 'registration_ref', 'app.py'))) return path;
  const dir = join(scratch, 'reference');
  mkdirSync(dir);
  const archive = spawnSync('git', ['--git-dir', path, 'archive', 'HEAD'], { maxBuffer: 64 << 20 });
  if (archive.status !== 0) return undefined;
  spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  return existsSync(join(dir, 'registration_ref', 'app.py')) ? dir : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** gunicorn -w4 with the reference's settings: a factory CA (OU = the factory, CA:TRUE) as CA and root. */
async function startReference(
  src: string,
  scratch: string,
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const ca = join(scratch, 'local-ca.pem');
  const key = join(scratch, 'local-ca.key');
  if (!existsSync(ca))
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      ca,
      '-days',
      '30',
      '-subj',
      `/CN=Factory CA/OU=${FACTORY}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]);
  const devicesDir = mkdtempSync(join(scratch, 'devices-'));
  const port = await freePort();
  const log = openSync(join(scratch, 'reference.log'), 'a');
  const child = spawn('/usr/bin/gunicorn', ['-w4', '-b', `127.0.0.1:${port}`, 'registration_ref.app:app'], {
    cwd: src,
    env: {
      ...process.env,
      PYTHONPATH: src,
      CA_CRT: readFileSync(ca, 'utf8'),
      CA_KEY: readFileSync(key, 'utf8'),
      ROOT_CRT: readFileSync(ca, 'utf8'),
      DEVICES_DIR: devicesDir,
      DEVICE_GATEWAY_SERVER: 'https://gateway.bench:8443',
      OSTREE_SERVER: 'https://ostree.bench:8443',
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`gunicorn exited (${child.exitCode}): see ${join(scratch, 'reference.log')}`);
    const up = await fetch(`${url}/sign`, { method: 'HEAD' }).then(
      () => true,
      () => false,
    );
    // Its 4 workers up too (the master answers nothing itself).
    if (up && child.pid && processTree(child.pid).length >= 5) break;
    await sleep(200);
  }
  return {
    child,
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** A fresh `imprint pairing serve --sign-realm` (a new data directory: every UUID unregistered). */
async function startOurs(scratch: string, run: number, lean: boolean) {
  const dataDir = mkdtempSync(join(scratch, `imprint-${run}-`));
  imprint(['pairing', 'keygen', '--out', dataDir]);
  imprint([
    'pairing',
    'realm',
    'create',
    SIGN_REALM,
    '--public-key',
    join(dataDir, 'realm-public.pem'),
    '--factory',
    FACTORY,
    '--data',
    dataDir,
  ]);
  const s = await startServe(
    ['--data', dataDir, '--sign-realm', SIGN_REALM, ...(lean ? ['--sign-port', '0'] : [])],
    join(dataDir, 'serve.log'),
  );
  return lean && s.signUrl ? { ...s, url: s.signUrl } : s;
}

const SERVERS = ['reference', 'imprint', 'imprint-lean'] as const;
type Server = (typeof SERVERS)[number];
const LABELS: Record<Server, string> = {
  reference: 'reference (gunicorn -w4)',
  imprint: 'imprint, main port',
  'imprint-lean': 'imprint, --sign-port',
};

interface Run {
  server: Server;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUs: number;
  /** The main threads' share (ours: the event loop; the rest is V8's compiler and GC threads, libuv, checkpoints). */
  mainUs: number;
  failed: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: false,
    options: {
      reference: { type: 'string', default: process.env.IMPRINT_REFERENCE_REF },
      requests: { type: 'string', default: '10000' },
      warmup: { type: 'string', default: '1500' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '8' },
    },
  });
  const refPath = typeof values.reference === 'string' ? values.reference : '';
  if (!refPath || !existsSync(refPath)) {
    console.log(
      'The reference server is not at hand: give --reference PATH (a checkout of github.com/foundriesio/factory-registration-ref,\n' +
        'or its git directory) or set IMPRINT_REFERENCE_REF. Nothing measured.',
    );
    process.exitCode = 1;
    return;
  }
  if (!haveWrk() || !existsSync('/usr/bin/gunicorn')) {
    console.log(
      'This benchmark needs wrk and gunicorn (Debian: apt-get install wrk gunicorn python3-flask python3-cryptography python3-requests).',
    );
    process.exitCode = 1;
    return;
  }
  const n = Number(values.requests);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const scratch = mkdtempSync(join(tmpdir(), 'imprint-sign-ref-'));
  try {
    const src = referenceSources(refPath, scratch);
    if (!src) throw new Error(`${refPath} holds no registration_ref/app.py (neither a checkout nor its git directory)`);
    console.log(`before: ${loadLine()}`);
    process.stdout.write(`preparing ${n + warmup} lmp-device-register bodies (EC P-256 CSRs)… `);
    const body = (): FreshRequest => ({ method: 'POST', path: '/sign', body: foundriesSignBody(randomUUID(), FACTORY) });
    const warm = Array.from({ length: warmup }, body);
    const list = Array.from({ length: n }, body);
    console.log('done');
    const runs: Run[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const server of SERVERS) {
        const s =
          server === 'reference'
            ? await startReference(src, scratch)
            : await startOurs(scratch, round, server === 'imprint-lean');
        try {
          const pid = s.child.pid ?? 0;
          await runFresh(s.url, warm, { connections });
          const r = await measured(
            () => processTree(pid),
            () => runFresh(s.url, list, { connections }),
          );
          runs.push({
            server,
            rps: r.rps,
            p50Ms: r.p50Ms,
            p99Ms: r.p99Ms,
            cpuUs: r.cpuUsPerRequest,
            mainUs: r.mainUsPerRequest,
            failed: r.failed,
          });
          console.log(
            `round ${round + 1} ${server.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  server CPU ${r.cpuUsPerRequest.toFixed(0)} µs/req (main threads ${r.mainUsPerRequest.toFixed(0)})  failed ${r.failed}`,
          );
        } finally {
          await s.stop();
        }
      }
    }
    const of = (server: Run['server']) => runs.filter((r) => r.server === server);
    const summary = (server: Run['server']) => ({
      rps: median(of(server).map((r) => r.rps)),
      cpu: median(of(server).map((r) => r.cpuUs)),
      main: median(of(server).map((r) => r.mainUs)),
    });
    const ref = summary('reference');
    console.log(`\nPOST /sign, ${n} requests per run, a new connection each, ${connections} at a time (medians of the runs)`);
    console.log('server                     req/s   server CPU µs/req   of it main threads   CPU / reference');
    for (const server of SERVERS) {
      const x = summary(server);
      // The host's speed drifts: each round's own ratio (runs side by side) too, their median last.
      const perRound = of(server).map((r, i) => r.cpuUs / (of('reference')[i]?.cpuUs ?? Number.NaN));
      const share =
        server === 'reference' ? '' : `${(x.cpu / ref.cpu).toFixed(2)} (rounds: ${perRound.map((r) => r.toFixed(2)).join(', ')})`;
      console.log(
        `${LABELS[server].padEnd(24)} ${x.rps.toFixed(0).padStart(7)} ${x.cpu.toFixed(0).padStart(19)} ${x.main.toFixed(0).padStart(20)}   ${share}`,
      );
    }
    for (const server of ['imprint', 'imprint-lean'] as const) {
      const x = summary(server);
      const cpuShare = x.cpu / ref.cpu;
      console.log(
        `${LABELS[server]}: CPU per request ours / reference = ${cpuShare.toFixed(2)} (goal ≤ 0.25: ratio to goal ${(0.25 / cpuShare).toFixed(2)}); ` +
          `req/s ours / reference = ${(x.rps / ref.rps).toFixed(2)} (goal > 1)`,
      );
    }
    console.log(`after: ${loadLine()}; req/s depends on the other load, CPU per request much less`);
    if (runs.some((r) => r.failed > 0)) {
      console.log('\nWARNING: some requests failed: figures are not valid.');
      process.exitCode = 1;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
