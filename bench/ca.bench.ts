// Micro-benchmark of the pairing core's certificate authority: issue/s (CSR check + certificate signing) and
// check/s, single thread, for EC P-256 and RSA-2048 CSRs. Run: node --import tsx bench/ca.bench.ts
// Reference: credentials requests must reach 3,000/s through HTTP on 2 cores; native ECDSA P-256 signs about
// 25,000/s per core, which bounds issue/s (one signature verify + one sign per request).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../src/pairing/ca/certificate-authority.ts';

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

function rate(name: string, seconds: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    now = process.hrtime.bigint();
  }
  const perS = n / (Number(now - start) / 1e9);
  console.log(`${name.padEnd(34)} ${Math.round(perS).toLocaleString('en-US').padStart(8)} /s   ${(1e6 / perS).toFixed(1)} µs/op`);
  return perS;
}

/** Throughput with `inFlight` concurrent operations, and how busy the event loop was (the rest ran on libuv's pool). */
async function rateAsync(name: string, seconds: number, inFlight: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 100; i++) await fn();
  let n = 0;
  const start = performance.now();
  const elu = performance.eventLoopUtilization();
  const worker = async () => {
    while (performance.now() - start < seconds * 1000) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const busy = performance.eventLoopUtilization(elu);
  const perS = n / elapsed;
  const loopUs = (busy.active * 1000) / n;
  console.log(
    `${name.padEnd(34)} ${Math.round(perS).toLocaleString('en-US').padStart(8)} /s   event loop busy ${(busy.utilization * 100).toFixed(0)}%, ${loopUs.toFixed(1)} µs/op on the loop`,
  );
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
  await rateAsync('issueAsync (EC P-256), 32 in flight', 2, 32, () =>
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

  console.log(
    `\nissue (EC) single core: ${Math.round(issueEc)}/s = ${(issueEc / TARGET_CREDENTIALS_PER_S).toFixed(2)}x the ${TARGET_CREDENTIALS_PER_S}/s credentials target ` +
      `(before HTTP and storage costs); ${((issueEc / rawSign) * 100).toFixed(0)}% of raw signing speed`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
