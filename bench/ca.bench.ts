// Micro-benchmark of the pairing core's certificate authority: issue/s (CSR check + certificate signing) and
// check/s, single thread, for EC P-256 and RSA-2048 CSRs. Run: node --import tsx bench/ca.bench.ts
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

/** Process CPU µs per op and the main thread's share: load-independent, unlike ops/s on a busy machine. */
function cpuPerOp(before: { cpu: NodeJS.CpuUsage; main: number | undefined }, n: number): string {
  const cpu = process.cpuUsage(before.cpu);
  const main = mainThreadCpuUs();
  const total = (cpu.user + cpu.system) / n;
  const loop = main !== undefined && before.main !== undefined ? ` (main thread ${((main - before.main) / n).toFixed(0)})` : '';
  return `CPU ${total.toFixed(0)} µs/op${loop}`;
}

const cpuMark = () => ({ cpu: process.cpuUsage(), main: mainThreadCpuUs() });

function rate(name: string, seconds: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const mark = cpuMark();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    now = process.hrtime.bigint();
  }
  const perS = n / (Number(now - start) / 1e9);
  console.log(`${name.padEnd(38)} ${Math.round(perS).toLocaleString('en-US').padStart(8)} /s   ${cpuPerOp(mark, n)}`);
  return perS;
}

/** Throughput with `inFlight` concurrent operations (the signature work runs on libuv's pool). */
async function rateAsync(name: string, seconds: number, inFlight: number, fn: () => Promise<unknown>): Promise<number> {
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
  const perS = n / ((performance.now() - start) / 1000);
  console.log(`${name.padEnd(38)} ${Math.round(perS).toLocaleString('en-US').padStart(8)} /s   ${cpuPerOp(mark, n)}`);
  return perS;
}

try {
  const ca = CertificateAuthority.loadOrCreate(join(dir, 'ca'));
  const ecCsr = makeCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
  const rsaCsr = makeCsr(['-newkey', 'rsa:2048']);
  const serial = () => randomBytes(16).toString('hex');
  const cn = 'test/AJInS0w3VpWpuOqkXhgZdA';

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(300);
  const rawSign = rate('native ECDSA P-256 sign (reference)', 1, () =>
    sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
  );
  const issueEc = rate('issue (EC P-256 CSR)', 2, () => ca.issue({ csrPem: ecCsr, commonName: cn, serialHex: serial() }));
  rate('issue (RSA-2048 CSR)', 1, () => ca.issue({ csrPem: rsaCsr, commonName: cn, serialHex: serial() }));
  const issueAsyncEc = await rateAsync('issueAsync (EC P-256), 64 in flight', 2, 64, () =>
    ca.issueAsync({ csrPem: ecCsr, commonName: cn, serialHex: serial() }),
  );
  const leaf = ca.issue({ csrPem: ecCsr, commonName: cn, serialHex: serial() }).pem;
  rate('check', 2, () => ca.check(leaf));
  const revoked = Array.from({ length: 10000 }, () => ({
    serialHex: serial(),
    revokedAt: new Date(),
    reason: 'superseded' as const,
  }));
  const t = performance.now();
  ca.crl(revoked, { crlNumber: 1n });
  console.log(`CRL with 10,000 entries: ${(performance.now() - t).toFixed(0)} ms`);

  const ratio = (v: number) =>
    `${(v / TARGET_CREDENTIALS_PER_S).toFixed(2)}x the ${TARGET_CREDENTIALS_PER_S}/s credentials target`;
  console.log(`\nissue (EC), one thread: ${Math.round(issueEc)}/s = ${ratio(issueEc)} (CA work only, before HTTP and storage)`);
  console.log(
    `issueAsync (EC), loop + ${DEFAULT_SIGNING_THREADS} signing threads: ${Math.round(issueAsyncEc)}/s = ${ratio(issueAsyncEc)}`,
  );
  console.log(`one issue costs ${(rawSign / issueEc).toFixed(1)} raw P-256 signatures (it also verifies the CSR with a new key)`);
  console.log(
    `load average during the run: ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores (figures are only meaningful on an idle machine)`,
  );
  await ca.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
