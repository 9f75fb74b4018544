// `npm run bench:station`: devices/hour of a simulated line with 1, 8 and 16 fixtures on PTYs
// (the simulators run in their own process, on socat PTY pairs), and the station's own time per
// device, excluding the simulated devices' time. Targets (issue 4): >= 30,000 devices/hour with
// 8 fixtures, <= 2 ms of station time per device.
//
// Station time per device is measured two ways:
//  - CPU: this process's CPU time (user + system) per device. The simulated devices run in the
//    worker process, so this is the station's own work: workflow, vault, station.db, the embedded
//    pairing core and the audit trail.
//  - wall: per device, the time not spent awaiting the device, the pairing core, or the durable
//    commits of the audit trail and of the write-ahead record (the workflow's own code).
// A last run puts the data folder on tmpfs (/dev/shm), where fsync is free: the CPU per device
// there is the station's code alone, without the durable commits (write-ahead record, audit trail,
// pairing core) that dominate on a real disk.
// Options: BENCH_FIXTURES=1,8,16  BENCH_DEVICES_PER_FIXTURE=40  BENCH_WRITE_LATENCY_MS=20
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Station } from '../src/station/station.ts';
import { defaultStationConfig } from '../src/station/station-config.ts';

const TARGET_PER_HOUR_8 = 30_000;
const TARGET_STATION_MS = 2;

const fixtureCounts = (process.env.BENCH_FIXTURES ?? '1,8,16').split(',').map(Number);
const perFixture = Number(process.env.BENCH_DEVICES_PER_FIXTURE ?? 40);
const writeLatencyMs = Number(process.env.BENCH_WRITE_LATENCY_MS ?? 20);

interface Figures {
  fixtures: number;
  devices: number;
  perHour: number;
  cpuMsPerDevice: number;
  userMsPerDevice: number;
  systemMsPerDevice: number;
  wallStationMs: number;
  deviceMs: number;
  pairingMs: number;
  commitMs: number;
  /** Chain-head checkpoint files written per device (audit.head, src/audit/chain-checkpoint.ts). */
  checkpointsPerDevice: number;
  /** CPU per device over the second half of the measured devices. */
  secondHalfCpuMsPerDevice: number;
  /** CPU per device of the event loop's thread, and of all the others (V8's compiler and GC threads, libuv's pool, workers). */
  mainThreadMsPerDevice: number;
  otherThreadsMsPerDevice: number;
  /** The workflow's hand-offs to the audit trail per device (one trail commit each, at most). */
  auditHandOffsPerDevice: number;
  /** Commits of write-ahead records per device (one WAL fdatasync each). */
  vaultCommitsPerDevice: number;
  failed: number;
}

/** CPU time (ms, user + system) of this process's threads by thread id, where /proc says (Linux). */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync('/proc/self/task')) return out;
  const tick = 1000 / 100; // USER_HZ
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * tick);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** CPU of the main thread and of the others between two threadCpuMs() (a thread that ended is lost). */
function splitThreads(before: Map<string, number>, after: Map<string, number>): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const [tid, ms] of after) {
    const d = ms - (before.get(tid) ?? 0);
    if (tid === String(process.pid)) main += d;
    else others += d;
  }
  return { main, others };
}

async function runLine(fixtures: number, base = process.env.BENCH_DATA_BASE ?? tmpdir()): Promise<Figures> {
  const dataDir = mkdtempSync(join(base, 'imprint-bench-station-'));
  const total = fixtures * perFixture;
  const station = await Station.open({
    dataDir,
    config: { ...defaultStationConfig(), stationId: `bench-${fixtures}` },
    simulate: { fixtures, writeLatencyMs, seed: 1 },
    operator: 'bench',
    maxDevices: total,
  });
  try {
    // Measure from the moment every fixture has finished its first device (worker and PTYs up,
    // code warm) to the last device.
    let t0 = 0;
    let cpu0: NodeJS.CpuUsage | undefined;
    let done0 = 0;
    let refreshes0 = 0;
    let threads0 = new Map<string, number>();
    let handOffs0 = 0;
    let vaultCommits0 = 0;
    // And from halfway: the second half's figure leaves out most of V8's optimisation of the code,
    // which the whole window still carries. A thread started on first need can fall in either half
    // (the pairing store's checkpoint thread starts at its WAL's first 1,000 frames).
    let half: { done: number; cpu: NodeJS.CpuUsage } | undefined;
    station.on('counters', (e) => {
      if (e.type !== 'counters') return;
      if (cpu0) {
        if (!half && e.counters.done >= (done0 + total) / 2) half = { done: e.counters.done, cpu: process.cpuUsage() };
        return;
      }
      if (e.counters.done >= fixtures) {
        t0 = performance.now();
        cpu0 = process.cpuUsage();
        done0 = e.counters.done;
        refreshes0 = station.audit.anchorState().refreshes;
        threads0 = threadCpuMs();
        handOffs0 = station.auditHandOffs().flushes;
        vaultCommits0 = station.db.vaultCommits().batches;
      }
    });
    await station.start();
    await station.whenIdle();
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const threads = splitThreads(threads0, threadCpuMs());
    const s = station.summary();
    const measured = s.done - done0;
    const refreshes = station.audit.anchorState().refreshes - refreshes0;
    const cpuHalf = half ? process.cpuUsage(half.cpu) : undefined;
    return {
      fixtures,
      devices: s.done,
      perHour: (measured / (t1 - t0)) * 3_600_000,
      cpuMsPerDevice: (cpu.user + cpu.system) / 1000 / measured,
      userMsPerDevice: cpu.user / 1000 / measured,
      systemMsPerDevice: cpu.system / 1000 / measured,
      wallStationMs: s.meanStationMs,
      deviceMs: s.meanDeviceMs,
      pairingMs: s.meanPairingMs,
      commitMs: s.meanCommitMs,
      checkpointsPerDevice: refreshes / measured,
      secondHalfCpuMsPerDevice: half && cpuHalf ? (cpuHalf.user + cpuHalf.system) / 1000 / (s.done - half.done) : Number.NaN,
      mainThreadMsPerDevice: threads.main / measured,
      otherThreadsMsPerDevice: threads.others / measured,
      auditHandOffsPerDevice: (station.auditHandOffs().flushes - handOffs0) / measured,
      vaultCommitsPerDevice: (station.db.vaultCommits().batches - vaultCommits0) / measured,
      failed: s.failed,
    };
  } finally {
    await station.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `station bench: simulated devices on PTYs (worker process), ${perFixture} devices per fixture, OTP write latency ${writeLatencyMs} ms`,
);
const results: Figures[] = [];
for (const n of fixtureCounts) {
  const f = await runLine(n);
  results.push(f);
  console.log(
    `${String(n).padStart(2)} fixture(s): ${Math.round(f.perHour).toLocaleString('en-US').padStart(7)} devices/hour` +
      ` | station CPU ${f.cpuMsPerDevice.toFixed(2)} ms/device (user ${f.userMsPerDevice.toFixed(2)}, system ${f.systemMsPerDevice.toFixed(2)}; second half ${f.secondHalfCpuMsPerDevice.toFixed(2)}), station wall ${f.wallStationMs.toFixed(2)} ms/device` +
      ` | waits per device: device ${f.deviceMs.toFixed(1)} ms, pairing ${f.pairingMs.toFixed(2)} ms, durable commits ${f.commitMs.toFixed(2)} ms` +
      ` | checkpoints ${f.checkpointsPerDevice.toFixed(2)}/device` +
      ` | threads: main ${f.mainThreadMsPerDevice.toFixed(2)}, others ${f.otherThreadsMsPerDevice.toFixed(2)} ms/device` +
      ` | per device: audit hand-offs ${f.auditHandOffsPerDevice.toFixed(2)}, vault commits ${f.vaultCommitsPerDevice.toFixed(2)}` +
      (f.failed ? ` | ${f.failed} failed` : ''),
  );
}
const eight = results.find((r) => r.fixtures === 8);
if (eight) {
  console.log(
    `8 fixtures: ${Math.round(eight.perHour).toLocaleString('en-US')} devices/hour = ${(eight.perHour / TARGET_PER_HOUR_8).toFixed(2)}x the target of ${TARGET_PER_HOUR_8.toLocaleString('en-US')}`,
  );
}
const worstCpu = Math.max(...results.map((r) => r.cpuMsPerDevice));
const worstWall = Math.max(...results.map((r) => r.wallStationMs));
console.log(
  `station time per device (durable, on disk): CPU ${worstCpu.toFixed(2)} ms = ${(worstCpu / TARGET_STATION_MS).toFixed(2)}x the ${TARGET_STATION_MS} ms target, wall ${worstWall.toFixed(2)} ms = ${(worstWall / TARGET_STATION_MS).toFixed(2)}x`,
);
if (existsSync('/dev/shm') && process.env.BENCH_SKIP_TMPFS !== '1') {
  const n = eight ? 8 : fixtureCounts[0];
  const f = await runLine(n, '/dev/shm');
  console.log(
    `station code alone (data on tmpfs, ${n} fixtures): CPU ${f.cpuMsPerDevice.toFixed(2)} ms/device = ${(f.cpuMsPerDevice / TARGET_STATION_MS).toFixed(2)}x the target (second half ${f.secondHalfCpuMsPerDevice.toFixed(2)}; main thread ${f.mainThreadMsPerDevice.toFixed(2)}, others ${f.otherThreadsMsPerDevice.toFixed(2)}), wall ${f.wallStationMs.toFixed(2)} ms; ${Math.round(f.perHour).toLocaleString('en-US')} devices/hour`,
  );
}
