// Device-initiated registration over loopback HTTP: fleet claims (POST /v1/{realm}/claims, ES256
// token check + durable registration + audit event) and Foundries-compatible POST /sign (CSR proof of
// possession + certificate keeping the CSR's subject + durable record + audit event), each request a
// new device. Run by `npm run bench:pairing` after the Astarte scenarios, or alone:
//   node --import tsx bench/claims.bench.ts [--duration 5 --connections 32 --sign-requests 6000]
// The issue names no target for these: ours are 1,000 claims/s and 500 /sign/s on the 2-core machine
// (a plant's whole line claims far fewer); the ratio printed is to those.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bitString, oid, seq, TAG, tlv } from '../src/pairing/ca/der-codec.ts';
import { pemEncode } from '../src/pairing/ca/pem.ts';
import { ClaimService } from '../src/pairing/claims/claim-service.ts';
import { CoreAudit, openCoreAuditSink } from '../src/pairing/core-audit.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { SignService } from '../src/pairing/foundries/sign-service.ts';
import { servePairing } from '../src/pairing/http/server.ts';
import { makeAgentKeyPair } from '../test/helpers/pairing-keys.ts';
import { autocannon, type LoadRequest } from './load-generator.ts';

const REALM = 'bench';
const SIGN_REALM = 'fio';
const FACTORY = 'bench-factory';

/** A PKCS#10 CSR as lmp-device-register makes it (EC P-256, CN=uuid, OU=factory, businessCategory=production). */
function foundriesCsr(uuid: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rdn = (o: string, v: string) => tlv(TAG.SET, seq(oid(o), tlv(TAG.UTF8_STRING, Buffer.from(v))));
  const subject = seq(rdn('2.5.4.3', uuid), rdn('2.5.4.11', FACTORY), rdn('2.5.4.15', 'production'));
  const info = seq(Buffer.from([2, 1, 0]), subject, publicKey.export({ format: 'der', type: 'spki' }), tlv(0xa0));
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return pemEncode(seq(info, seq(oid('1.2.840.10045.4.3.2')), bitString(signature)), 'CERTIFICATE REQUEST');
}

// ---- child: the server (core, claims, /sign, audit trail) --------------------------------------
async function childServer(): Promise<void> {
  const dataDir = process.env.BENCH_DATA_DIR ?? '';
  const core = await EmbeddedPairingCore.open({ dataDir, store: process.env.BENCH_STORE || undefined });
  await core.createRealm({ name: REALM, publicKeyPem: makeAgentKeyPair().publicKeyPem, brokerUrl: 'mqtts://broker.bench:8883/' });
  await core.createRealm({ name: SIGN_REALM, publicKeyPem: makeAgentKeyPair().publicKeyPem, factory: FACTORY });
  const trail = openCoreAuditSink(core.extension().store, dataDir);
  const audit = new CoreAudit(trail);
  const claims = await ClaimService.open(core, dataDir, { audit });
  const signService = await SignService.open(core, { realm: SIGN_REALM, audit });
  const server = await servePairing({ core, host: '127.0.0.1', port: 0, claims, sign: signService });
  const { token } = await claims.createToken(REALM, { pairingUrl: server.url, expiresInSeconds: 3600 });
  process.send?.({ url: server.url, token });
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => trail.close())
      .then(() => core.close())
      .finally(() => process.exit(0));
  });
}

function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child-server'], {
    env: { ...process.env, BENCH_DATA_DIR: dataDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('claims bench server did not start within 30 s')), 30_000);
    child.once('message', (m: { url: string; token: string }) => {
      clearTimeout(timer);
      resolve({ child, ...m });
    });
    child.once('exit', (code) => reject(new Error(`claims bench server exited (${code})`)));
  });
}

function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });
}

/** Claims/s and /sign/s, printed with their ratio to our targets. */
export async function claimsBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    options: {
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      'sign-requests': { type: 'string', default: '4000' },
    },
  });
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const signRequests = Number(values['sign-requests']);
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-claims-bench-'));
  const { child, url, token } = await startServer(dataDir);
  try {
    process.stdout.write(`preparing ${signRequests + 200} Foundries CSRs… `);
    const signBodies = Array.from({ length: signRequests + 200 }, () => {
      const uuid = randomUUID();
      return JSON.stringify({
        uuid,
        name: uuid,
        csr: foundriesCsr(uuid),
        'hardware-id': 'bench-hw',
        'sota-config-dir': '/var/sota',
      });
    });
    console.log('done');
    let mfr = 0;
    let next = 0;
    const claimRequest: LoadRequest = {
      method: 'POST',
      path: `/v1/${REALM}/claims`,
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        req.body = `{"data":{"token":"${token}","manufacturer_id":"SN-${++mfr}"}}`;
        return req;
      },
    };
    const signRequest: LoadRequest = {
      method: 'POST',
      path: '/sign',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        req.body = signBodies[next++];
        return req;
      },
    };
    const rows: Array<{ name: string; rps: number; p50: number; p99: number; target: number; cpuUs: number; bad: number }> = [];
    for (const [name, request, target, amount] of [
      ['claim', claimRequest, 1000, undefined],
      ['/sign', signRequest, 500, signRequests],
    ] as const) {
      // Warm-up: JIT, signing threads, page cache (200 requests).
      await autocannon({ url, connections, amount: 200, pipelining: 1, requests: [request] });
      const cpu0 = await serverCpu(child);
      const r = await autocannon({
        url,
        connections,
        pipelining: 1,
        requests: [request],
        ...(amount ? { amount } : { duration }),
      });
      const cpuUs = ((await serverCpu(child)) - cpu0) / Math.max(1, r.requests.total);
      const rps = amount ? r.requests.total / r.duration : r.requests.average;
      rows.push({ name, rps, p50: r.latency.p50, p99: r.latency.p99, target, cpuUs, bad: r.non2xx + r.errors + r.timeouts });
    }
    console.log(`\ndevice-initiated registration over loopback HTTP: ${connections} connections, every request a new device`);
    console.log('scenario      req/s     p50 ms   p99 ms   target/s   ratio   server CPU µs/req   failed');
    for (const r of rows)
      console.log(
        `${r.name.padEnd(9)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(10)} ${r.p99.toFixed(1).padStart(8)} ${String(r.target).padStart(10)} ${(r.rps / r.target).toFixed(2).padStart(7)} ${r.cpuUs.toFixed(0).padStart(19)} ${String(r.bad).padStart(8)}`,
      );
    console.log(
      `(load average: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; claims and /sign each append a durable audit event)`,
    );
    if (rows.some((r) => r.bad > 0)) {
      console.log('\nWARNING: some requests failed: figures are not valid.');
      process.exitCode = 1;
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Run as a program (not when bench/pairing.bench.ts imports it, nor in that bench's own child server).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--child-server')) await childServer();
  else await claimsBench(process.argv.slice(2));
}
