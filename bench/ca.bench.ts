// Micro-benchmark of the pairing core's certificate authority: issue/s (CSR check + certificate signing) on one
// thread and with issueAsync's signing threads, and check/s, for EC P-256 and RSA-2048 CSRs (16 distinct CSRs of
// each, used in turn). Prints CPU µs per operation too: unlike ops/s, it holds on a busy machine.
// Run: node --import tsx bench/ca.bench.ts
// Reference: credentials requests must reach 3,000/s through HTTP on 2 cores; native ECDSA P-256 signs about
// 25,000/s per core, which bounds issue/s (one signature verify + one sign per request).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../src/pairing/ca/certificate-authority.ts';
import { DEFAULT_SIGNING_THREADS } from '../src/pairing/ca/signing-threads.ts';

const TARGET_CREDENTIALS_PER_S = 3000;
const dir = mkdtempSync(join(tmpdir(), 'imprint-ca-bench-'));

function makeCsr(newkey: string[]): string {
  const out = join(dir, 'req.pem');
  execFileSync(
    'openssl',
    ['req', '-new', ...newkey, '-nodes', '-keyout', join(dir, 'k.pem'), '-subj', '/CN=bench', '-out', out],
    {
      stdio: 'ignore',
    },
  );
  return readFileSync(out, 'utf8');
}

/** CPU time (µs) of the main thread alone, from /proc on Linux (the loop's share under issueAsync). */
function mainThreadCpuUs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in 1/100 s ticks
  } catch {
    return undefined;
  }
}

interface Figures {
  perS: number;
  /** Process CPU (all threads) per operation, µs: holds on a busy machine, unlike perS. */
  cpuUs: number;
  /** The main thread's (event loop's) share, µs; NaN where /proc is not available. */
  mainUs: number;
}

function measure(name: string, n: number, seconds: number, before: { cpu: NodeJS.CpuUsage; main: number | undefined }): Figures {
  const cpu = process.cpuUsage(before.cpu);
  const main = mainThreadCpuUs();
  const f: Figures = {
    perS: n / seconds,
    cpuUs: (cpu.user + cpu.system) / n,
    mainUs: main !== undefined && before.main !== undefined ? (main - before.main) / n : Number.NaN,
  };
  const loop = Number.isNaN(f.mainUs) ? '' : ` (event loop ${f.mainUs.toFixed(0)})`;
  console.log(
    `${name.padEnd(38)} ${Math.round(f.perS).toLocaleString('en-US').padStart(8)} /s   CPU ${f.cpuUs.toFixed(0)} µs/op${loop}`,
  );
  return f;
}

const cpuMark = () => ({ cpu: process.cpuUsage(), main: mainThreadCpuUs() });

function rate(name: string, seconds: number, fn: () => void): Figures {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const mark = cpuMark();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return measure(name, n, (performance.now() - start) / 1000, mark);
}

/** Throughput with `inFlight` concurrent operations. */
async function rateAsync(name: string, seconds: number, inFlight: number, fn: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 100; i++) await fn();
  let n = 0;
  const mark = cpuMark();
  const start = performance.now();
  const worker = async () => {
    while (performance.now() - start < seconds * 1000) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return measure(name, n, (performance.now() - start) / 1000, mark);
}

try {
  const ca = CertificateAuthority.loadOrCreate(join(dir, 'ca'));
  const ecCsrs = Array.from({ length: 16 }, () => makeCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']));
  const rsaCsrs = Array.from({ length: 16 }, () => makeCsr(['-newkey', 'rsa:2048']));
  let turn = 0;
  const ecCsr = () => ecCsrs[turn++ % ecCsrs.length];
  const rsaCsr = () => rsaCsrs[turn++ % rsaCsrs.length];
  const serial = () => randomBytes(16).toString('hex');
  const cn = 'test/AJInS0w3VpWpuOqkXhgZdA';

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(300);
  const rawSign = rate('native ECDSA P-256 sign (reference)', 1, () =>
    sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
  );
  const issueEc = rate('issue (EC P-256 CSR)', 2, () => ca.issue({ csrPem: ecCsr(), commonName: cn, serialHex: serial() }));
  rate('issue (RSA-2048 CSR)', 1, () => ca.issue({ csrPem: rsaCsr(), commonName: cn, serialHex: serial() }));
  const issueAsyncEc = await rateAsync(`issueAsync (EC P-256), ${DEFAULT_SIGNING_THREADS} threads`, 2, 64, () =>
    ca.issueAsync({ csrPem: ecCsr(), commonName: cn, serialHex: serial() }),
  );
  const leaf = ca.issue({ csrPem: ecCsr(), commonName: cn, serialHex: serial() }).pem;
  rate('check', 2, () => ca.check(leaf));
  const revoked = Array.from({ length: 10000 }, () => ({
    serialHex: serial(),
    revokedAt: new Date(),
    reason: 'superseded' as const,
  }));
  const t = performance.now();
  ca.crl(revoked, { crlNumber: 1n });
  console.log(`CRL with 10,000 entries: ${(performance.now() - t).toFixed(0)} ms`);

  const cores = availableParallelism();
  const target = (v: number) =>
    `${Math.round(v).toLocaleString('en-US')}/s = ${(v / TARGET_CREDENTIALS_PER_S).toFixed(2)}x the ${TARGET_CREDENTIALS_PER_S.toLocaleString('en-US')}/s credentials target`;
  console.log(`\nFrom CPU per operation (CA work only, before HTTP and storage):`);
  console.log(`  issue, one thread: ${target(1e6 / issueEc.cpuUs)}`);
  console.log(
    `  issueAsync, all ${cores} cores: ${target((cores * 1e6) / issueAsyncEc.cpuUs)}; the event loop's share (${issueAsyncEc.mainUs.toFixed(0)} µs/op) alone would allow ${Math.round(1e6 / issueAsyncEc.mainUs).toLocaleString('en-US')}/s`,
  );
  console.log(
    `  one EC issue costs ${(issueEc.cpuUs / rawSign.cpuUs).toFixed(1)} raw P-256 signatures of CPU (mostly importing and verifying the CSR's new key)`,
  );
  console.log(
    `load average during the run: ${loadavg()[0].toFixed(2)} on ${cores} cores (ops/s are only meaningful on an idle machine)`,
  );
  await ca.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
