// `npm run bench:serial`: the station's provisioning exchange (docs/device-protocol.md section 6:
// hello, identity, identity, status, write, lock, config) against the device simulator on socat
// PTYs (1 and 16 in parallel) and against the C reference device (firmware/reference) on its own
// PTY. Prints round trips/s, exchange latency p50/p99, bytes on the wire per device, the wire time
// those bytes need at 115200 baud 8N1 (10 bits per byte), and how long `imprint device-test` takes.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { runDeviceKit } from '../src/serial/conformance/run-device-kit.ts';
import { createDeviceClient, type SerialDeviceClient } from '../src/serial/device-client.ts';
import { secretDigest } from '../src/serial/device-types.ts';
import { closePort, openDevicePort } from '../src/serial/ports.ts';
import { createInProcessDevice } from '../src/sim/in-process-device.ts';
import { type PtyDevice, spawnPtyDevice } from '../src/sim/pty-device.ts';
import { type CDevice, startCDevice } from '../test/device-kit/c-device.ts';

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
  await c.identity(); // the fixture's poll
  await c.identity();
  await c.storageStatus();
  const { digest } = await c.writeSecret(secret);
  await c.lock();
  await c.writeConfig(CONFIG);
  const ms = performance.now() - t0;
  if (digest !== secretDigest(secret)) throw new Error('bench: digest mismatch');
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
  await c.identity();
  await c.storageStatus();
  await c.writeSecret(secret);
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

async function withCDevices(n: number, fn: (clients: SerialDeviceClient[]) => Promise<void>): Promise<void> {
  const devices: CDevice[] = [];
  const clients: SerialDeviceClient[] = [];
  try {
    for (let i = 0; i < n; i++) devices.push(await startCDevice({ serial: `BENCH-C-${i + 1}`, allowReset: true }));
    for (const d of devices)
      clients.push(createDeviceClient(await openDevicePort(d.path), { timeoutMs: 1000, writeTimeoutMs: 3000, label: d.path }));
    await fn(clients);
  } finally {
    for (const c of clients) await c.close();
    for (const d of devices) await d.stop();
  }
}

/** Seconds `imprint device-test --destructive` takes against the device at `path`. */
async function kitSeconds(path: string): Promise<string> {
  const port = await openDevicePort(path);
  try {
    const report = await runDeviceKit(port, { destructive: true });
    return `${(report.durationMs / 1000).toFixed(2)} s (${report.counts.pass} pass, ${report.counts.fail} fail)`;
  } finally {
    await closePort(port);
  }
}

console.log(
  `Serial provisioning exchange: ${ROUND_TRIPS_PER_EXCHANGE} round trips (hello, identity, identity, status, write, lock, config), ${DURATION_MS / 1000} s per run\n`,
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

let cOne = { p50: 0, p99: 0, rtps: 0 };
await withCDevices(1, async (clients) => {
  cOne = await run('PTY, 1 C reference device', clients);
});
await withCDevices(16, async (clients) => {
  await run('PTY, 16 C reference devices', clients);
});
const kitSim = await spawnPtyDevice({ hardwareSerial: 'BENCH-KIT', allowFactoryReset: true });
const kitOnSim = await kitSeconds(kitSim.path);
await kitSim.stop();
const kitC = await startCDevice({ serial: 'BENCH-KIT-C', allowReset: true });
const kitOnC = await kitSeconds(kitC.path);
await kitC.stop();

const wireMs = ((bytes * 10) / BAUD) * 1000;
console.log(`\nBytes on the wire per device (one exchange, both directions): ${bytes} B`);
console.log(
  `Wire time at ${BAUD} baud 8N1: ${bytes} × 10 / ${BAUD} = ${wireMs.toFixed(1)} ms per device (the physical floor of a real line)`,
);
console.log(
  `Ratio PTY p50 / wire floor: 1 simulator ${(one.p50 / wireMs).toFixed(3)}, 16 simulators ${(sixteen.p50 / wireMs).toFixed(3)} (below 1: the station is not the bottleneck, the line is)`,
);
console.log(`Scaling 1 → 16 simulators: ${(sixteen.rtps / one.rtps).toFixed(1)}× the round trips/s`);
console.log(`C reference device p50 / simulator p50 (1 each, PTY): ${(cOne.p50 / one.p50).toFixed(3)}`);
console.log(`imprint device-test --destructive: simulator ${kitOnSim}, C reference device ${kitOnC}`);
