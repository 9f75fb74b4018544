// `npm run bench:serial`: a full provisioning exchange (hello, identity, status, write, status,
// lock, config) against the device simulator on socat PTYs, for 1 and 16 simulators in parallel.
// Prints round trips/s, exchange latency p50/p99, bytes on the wire per device, and the wire time
// those bytes need at 115200 baud 8N1 (10 bits per byte): the physical floor of a real line.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDeviceClient, type SerialDeviceClient } from '../src/serial/device-client.ts';
import { secretDigest } from '../src/serial/device-types.ts';
import { openDevicePort } from '../src/serial/ports.ts';
import { createInProcessDevice } from '../src/sim/in-process-device.ts';
import { type PtyDevice, spawnPtyDevice } from '../src/sim/pty-device.ts';

const ROUND_TRIPS_PER_EXCHANGE = 7;
const BAUD = 115200;
const CONFIG = {
  realm: 'bench',
  deviceId: 'AJInS0w3VpWpuOqkXhgZdA',
  pairingUrl: 'https://pairing.example.com/pairing',
  brokerUrl: 'mqtts://broker.example.com:8883',
};
const DURATION_MS = Number(process.env.BENCH_SERIAL_MS ?? 5000);

/** One exchange; returns its duration in ms. The factory reset after it is not timed. */
async function exchange(c: SerialDeviceClient): Promise<number> {
  const secret = randomBytes(32).toString('base64');
  const t0 = performance.now();
  await c.hello();
  await c.identity();
  await c.storageStatus();
  const { digest } = await c.writeSecret(secret);
  const status = await c.storageStatus();
  await c.lock();
  await c.writeConfig(CONFIG);
  const ms = performance.now() - t0;
  if (digest !== secretDigest(secret) || status.state !== 'written') throw new Error('bench: digest mismatch');
  await c.factoryReset();
  return ms;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function wireBytesPerDevice(c: SerialDeviceClient): Promise<number> {
  const before = c.stats.bytesIn + c.stats.bytesOut;
  const secret = randomBytes(32).toString('base64');
  await c.hello();
  await c.identity();
  await c.storageStatus();
  await c.writeSecret(secret);
  await c.storageStatus();
  await c.lock();
  await c.writeConfig(CONFIG);
  const bytes = c.stats.bytesIn + c.stats.bytesOut - before;
  await c.factoryReset();
  return bytes;
}

async function run(label: string, clients: SerialDeviceClient[]): Promise<{ p50: number; p99: number; rtps: number }> {
  for (const c of clients) await exchange(c); // warm-up
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + DURATION_MS;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < deadline) latencies.push(await exchange(c));
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const rtps = (latencies.length * ROUND_TRIPS_PER_EXCHANGE) / elapsed;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log(
    `${label.padEnd(34)} exchanges ${String(latencies.length).padStart(5)}  ${(latencies.length / elapsed).toFixed(1).padStart(7)} exchanges/s  ${rtps.toFixed(0).padStart(6)} round trips/s  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms`,
  );
  return { p50, p99, rtps };
}

async function withPtyDevices(n: number, fn: (clients: SerialDeviceClient[]) => Promise<void>): Promise<void> {
  const devices: PtyDevice[] = [];
  const clients: SerialDeviceClient[] = [];
  try {
    // Start in small groups: 16 cold TypeScript processes at once would starve 2 cores.
    for (let i = 0; i < n; i += 4) {
      const group = await Promise.all(
        Array.from({ length: Math.min(4, n - i) }, (_, j) =>
          spawnPtyDevice({ hardwareSerial: `BENCH-${i + j + 1}`, allowFactoryReset: true }),
        ),
      );
      devices.push(...group);
    }
    for (const d of devices)
      clients.push(createDeviceClient(await openDevicePort(d.path), { timeoutMs: 1000, writeTimeoutMs: 3000, label: d.path }));
    await fn(clients);
  } finally {
    for (const c of clients) await c.close();
    await Promise.all(devices.map((d) => d.stop()));
  }
}

console.log(
  `Serial provisioning exchange: ${ROUND_TRIPS_PER_EXCHANGE} round trips (hello, identity, status, write, status, lock, config), ${DURATION_MS / 1000} s per run\n`,
);

const inProc = await createInProcessDevice({ hardwareSerial: 'BENCH-0', allowFactoryReset: true });
const bytes = await wireBytesPerDevice(inProc.client);
await run('in-process (no PTY, reference)', [inProc.client]);
await inProc.close();

let one = { p50: 0, p99: 0, rtps: 0 };
await withPtyDevices(1, async (clients) => {
  one = await run('PTY, 1 simulator process', clients);
});
let sixteen = { p50: 0, p99: 0, rtps: 0 };
await withPtyDevices(16, async (clients) => {
  sixteen = await run('PTY, 16 simulator processes', clients);
});

const wireMs = ((bytes * 10) / BAUD) * 1000;
console.log(`\nBytes on the wire per device (one exchange, both directions): ${bytes} B`);
console.log(
  `Wire time at ${BAUD} baud 8N1: ${bytes} × 10 / ${BAUD} = ${wireMs.toFixed(1)} ms per device (the physical floor of a real line)`,
);
console.log(
  `Ratio PTY p50 / wire floor: 1 simulator ${(one.p50 / wireMs).toFixed(3)}, 16 simulators ${(sixteen.p50 / wireMs).toFixed(3)} (below 1: the station is not the bottleneck, the line is)`,
);
console.log(`Scaling 1 → 16 simulators: ${(sixteen.rtps / one.rtps).toFixed(1)}× the round trips/s`);
