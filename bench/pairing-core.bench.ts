// In-process throughput of the embedded pairing core (no HTTP): durable registrations with group
// commit, info (secret check + read), credentials (ECDSA P-256). Usage:
//   node --import tsx bench/pairing-core.bench.ts [--devices 20000] [--concurrency 64]
// The HTTP targets of issue 2 (register ≥ 5,000/s, info ≥ 10,000/s, credentials ≥ 3,000/s) include
// the server's cost; the core alone must be comfortably above them.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deriveDeviceId } from '../src/common/device-id.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { makeDeviceCsr } from '../test/helpers/pairing-keys.ts';

const { values } = parseArgs({
  options: { devices: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' } },
});
const N = Number(values.devices);
const C = Number(values.concurrency);

async function run(label: string, n: number, target: number, one: (i: number) => Promise<unknown>): Promise<void> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const before = core.storeStats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await one(i);
        latencies[i] = performance.now() - s;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const after = core.storeStats();
  const writes = (after?.writes ?? 0) - (before?.writes ?? 0);
  const batches = (after?.batches ?? 0) - (before?.batches ?? 0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(n - 1, Math.floor(n * p))].toFixed(2);
  const rate = n / secs;
  console.log(
    `${label.padEnd(12)} ${rate.toFixed(0).padStart(8)} ops/s  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms  (${(rate / target).toFixed(1)}× the HTTP target ${target}/s)${batches ? `, ${(writes / batches).toFixed(1)} writes per commit` : ''}`,
  );
}

const dataDir = mkdtempSync(join(tmpdir(), 'imprint-bench-core-'));
const core = await EmbeddedPairingCore.open({ dataDir });
try {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await core.createRealm({ name: 'bench', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string });
  const ids = Array.from({ length: N }, (_, i) => deriveDeviceId(`bench-${i}`));
  const secrets: string[] = new Array(N);
  console.log(`embedded pairing core: ${N} devices, concurrency ${C}, synchronous=FULL (WAL)`);
  await run('register', N, 5000, async (i) => {
    secrets[i] = (await core.registerDevice('bench', ids[i])).credentialsSecret;
  });
  await run('info', N, 10000, (i) => core.getInfo('bench', ids[i], secrets[i]));
  const csrs = Array.from({ length: 20 }, () => makeDeviceCsr().csrPem);
  const n = Math.min(N, 5000);
  await run('credentials', n, 3000, (i) => core.requestCredentials('bench', ids[i], secrets[i], csrs[i % csrs.length]));
} finally {
  await core.close();
  rmSync(dataDir, { recursive: true, force: true });
}
