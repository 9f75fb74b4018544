// What the fresh-connection benchmarks share: Debian's wrk driving a list of distinct requests, one new
// TCP (or TLS) connection each (`Connection: close`), the server's CPU read from /proc, `imprint pairing
// serve` started as plant IT starts it, and device CSRs made in-process (EC P-256, as devices make them).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bitString, oid, seq, TAG, tlv } from '../src/pairing/ca/der-codec.ts';
import { pemEncode } from '../src/pairing/ca/pem.ts';

export interface FreshRequest {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  /** The whole Authorization header value. */
  authorization?: string;
  /** JSON text (one line). */
  body?: string;
}

export interface FreshResult {
  /** Requests sent from the list (each on its own connection). */
  sent: number;
  /** Responses received (the last few in flight when the list ran out are not waited for). */
  completed: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, connect/read/write errors and timeouts. */
  failed: number;
}

// wrk calls request() for every new connection: each takes the next line of the list; when the list is
// spent the thread stops (the few requests still in flight are processed by the server, not awaited)
// and says so, so that the parent ends wrk's -d wait with SIGINT.
const WRK_SCRIPT = `
-- sent, answered, bad: globals, read by done() through thread:get()
sent, answered, bad = 0, 0, 0
local reqs, filler = {}, nil
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local close = args[2] == "close"
  for line in io.lines(args[1]) do
    local m, p, a, b = line:match("^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)$")
    local h = {}
    if close then h["Connection"] = "close" end
    if a ~= "" then h["Authorization"] = a end
    if b ~= "" then h["Content-Type"] = "application/json" else b = nil end
    reqs[#reqs + 1] = wrk.format(m, p, h, b)
  end
  filler = wrk.format("GET", "/health", close and { Connection = "close" } or {})
end
function request()
  if sent >= #reqs then
    -- wrk's main thread sleeps for -d whatever its threads do: the parent interrupts it (SIGINT).
    if not stopped then io.write("WRK-STOPPED\\n"); io.flush(); stopped = true end
    wrk.thread:stop()
    return filler
  end
  sent = sent + 1
  return reqs[sent]
end
function response(status)
  answered = answered + 1
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency)
  local s, a, b = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); a = a + t:get("answered"); b = b + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format("WRK sent=%d answered=%d bad=%d errors=%d us=%d p50=%d p99=%d\\n",
    s, a, b, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** Whether Debian's wrk is installed (the fresh-connection benchmarks need it). */
export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

/**
 * Sends every request of `requests` once, `connections` at a time, a new connection each (keep-alive
 * when `keepAlive`). Latency is wrk's: from writing the request to the end of the answer.
 */
export async function runFresh(
  baseUrl: string,
  requests: readonly FreshRequest[],
  o: { connections: number; keepAlive?: boolean; maxSeconds?: number },
): Promise<FreshResult> {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-wrk-'));
  try {
    const list = join(dir, 'requests.tsv');
    writeFileSync(
      list,
      requests
        .map((r) => `${r.method}\t${r.path}\t${r.authorization ?? ''}\t${r.body ?? ''}`)
        .join('\n')
        .concat('\n'),
    );
    writeFileSync(join(dir, 'script.lua'), WRK_SCRIPT);
    const args = [
      '-t1',
      `-c${o.connections}`,
      `-d${o.maxSeconds ?? 120}s`,
      '--timeout',
      '10s',
      '-s',
      join(dir, 'script.lua'),
      baseUrl,
      '--',
      list,
      o.keepAlive ? 'keep-alive' : 'close',
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let stopping = false;
      child.stdout.on('data', (d) => {
        text += d;
        if (text.includes('WRK-STOPPED') && !stopping) {
          stopping = true;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (d) => {
        text += d;
      });
      child.once('error', reject);
      child.once('exit', () => resolve(text));
    });
    const m = /WRK sent=(\d+) answered=(\d+) bad=(\d+) errors=(\d+) us=(\d+) p50=(\d+) p99=(\d+)/.exec(out);
    if (!m) throw new Error(`wrk gave no figures:\n${out}`);
    const [sent, completed, bad, errors, us, p50, p99] = m.slice(1).map(Number);
    const seconds = us / 1e6;
    return { sent, completed, seconds, rps: completed / seconds, p50Ms: p50 / 1000, p99Ms: p99 / 1000, failed: bad + errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** User + system CPU of processes and all their threads, µs (Linux /proc; clock ticks of 10 ms). */
export function processCpuUs(pids: readonly number[]): number {
  const t = processTimes(pids);
  return t.user + t.system;
}

/**
 * User and system (kernel: TCP, files, fsync) CPU of processes and all their threads, µs; `main`: their main
 * threads' alone (for Node, the event loop; the rest is V8's compiler and GC threads, libuv's pool, workers).
 */
export function processTimes(pids: readonly number[]): { user: number; system: number; main: number } {
  const t = { user: 0, system: 0, main: 0 };
  const ticks = (path: string): [number, number] => {
    const stat = readFileSync(path, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]) * (1e6 / 100), Number(f[12]) * (1e6 / 100)];
  };
  for (const pid of pids) {
    try {
      const [user, system] = ticks(`/proc/${pid}/stat`);
      t.user += user;
      t.system += system;
      const [mainUser, mainSystem] = ticks(`/proc/${pid}/task/${pid}/stat`);
      t.main += mainUser + mainSystem;
    } catch {}
  }
  return t;
}

/** A process and its children (gunicorn's master and workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
      out.push(...processTree(Number(task)));
  } catch {}
  return out;
}

/**
 * Runs `load` and returns its result with the server's CPU per request sent (the requests still in flight
 * when the list ran out are finished by the server: their CPU is waited for, up to one second).
 */
/** The processes' CPU times once they stopped moving over 100 ms (or after `rounds` × 100 ms). */
async function cpuOnceStill(pids: () => number[], rounds: number): Promise<{ user: number; system: number; main: number }> {
  let last = processTimes(pids());
  for (let i = 0; i < rounds; i++) {
    await sleep(100);
    const now = processTimes(pids());
    if (now.user + now.system === last.user + last.system) break;
    last = now;
  }
  return last;
}

export async function measured(
  pids: () => number[],
  load: () => Promise<FreshResult>,
): Promise<FreshResult & { cpuUsPerRequest: number; systemUsPerRequest: number; mainUsPerRequest: number }> {
  // What the previous phase left running (its log flush, a checkpoint, the collection of its garbage) is
  // not this phase's cost: start once the server's CPU stands still for 100 ms (at most 3 s).
  const before = await cpuOnceStill(pids, 30);
  const r = await load();
  // And this phase's own tail (the last commits, the log's flush) is: wait for it (at most 1 s).
  const after = await cpuOnceStill(pids, 10);
  const n = Math.max(1, r.sent);
  return {
    ...r,
    cpuUsPerRequest: (after.user + after.system - before.user - before.system) / n,
    systemUsPerRequest: (after.system - before.system) / n,
    mainUsPerRequest: (after.main - before.main) / n,
  };
}

export function loadLine(): string {
  const [l1, l5] = loadavg();
  return `load average ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min) on ${cpus().length} cores`;
}

// ---- CSRs ----------------------------------------------------------------------------------------

const rdn = (o: string, v: string) => tlv(TAG.SET, seq(oid(o), tlv(TAG.UTF8_STRING, Buffer.from(v))));

/** A PKCS#10 CSR for a new EC P-256 key with the given subject (RDNs in order: [oid, value]). */
export function ecCsr(subject: Array<[string, string]>): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = seq(...subject.map(([o, v]) => rdn(o, v)));
  const info = seq(Buffer.from([2, 1, 0]), name, publicKey.export({ format: 'der', type: 'spki' }), tlv(0xa0));
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return pemEncode(seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(signature)), 'CERTIFICATE REQUEST');
}

export const CN = '2.5.4.3';
export const OU = '2.5.4.11';
export const BUSINESS_CATEGORY = '2.5.4.15';

/** The body lmp-device-register sends to POST /sign: CN = its UUID, OU = the factory, production. */
export function foundriesSignBody(uuid: string, factory: string): string {
  const csr = ecCsr([
    [CN, uuid],
    [OU, factory],
    [BUSINESS_CATEGORY, 'production'],
  ]);
  return JSON.stringify({ uuid, name: uuid, csr, 'hardware-id': 'bench-hw', 'sota-config-dir': '/var/sota' });
}

// ---- `imprint pairing …` -------------------------------------------------------------------------

// IMPRINT_BENCH_BIN: another checkout's bin/imprint.mjs (a before/after comparison with the same client).
const IMPRINT = process.env.IMPRINT_BENCH_BIN ?? new URL('../bin/imprint.mjs', import.meta.url).pathname;

/** Runs an `imprint` command to completion; its stdout. */
export function imprint(args: string[]): string {
  const r = spawnSync(process.execPath, [IMPRINT, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`imprint ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** The lean /sign listener's URL (with `--sign-port`). */
  signUrl?: string;
  pid: number;
  /** Bytes the server logged (its stderr, kept in a file). */
  logBytes(): number;
  stop(): Promise<void>;
}

/** `imprint pairing serve --port 0 …` with its log (stderr) in `logFile`; resolves once it listens. */
export function startServe(args: string[], logFile: string, nodeArgs: string[] = []): Promise<ServeProcess> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, IMPRINT, 'pairing', 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`pairing serve did not start within 60 s: ${out}`)), 60_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      const lean = /Foundries \/sign listening on (\S+)\/sign/.exec(out);
      if (m && child.pid && (lean || !args.includes('--sign-port'))) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1],
          signUrl: lean?.[1],
          pid: child.pid,
          logBytes: () => (existsSync(logFile) ? readFileSync(logFile).length : 0),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pairing serve exited (${code}) before listening: ${out}\n${readFileSync(logFile, 'utf8')}`));
    });
  });
}
