// Shared set-up for the fault suite: a station on a simulated line in this process, the line's
// pauses as it told them, and the checks every fault test ends with (nothing failed, nothing lost).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinePause } from '../../src/api/station-api.ts';
import type { PairingClient } from '../../src/pairing/pairing-api.ts';
import type { LineChange } from '../../src/station/line-gate.ts';
import { Station } from '../../src/station/station.ts';
import type { StationConfig } from '../../src/station/station-config.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/imprint.mjs');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface LineLog {
  changes: { change: LineChange; pause: LinePause }[];
  /** Resolves at the next pause (or at once if the line is paused now). */
  paused(): Promise<LinePause>;
  /** Resolves once `n` retries have failed in the current pause. */
  retriesFailed(n: number): Promise<void>;
  count(change: LineChange): number;
}

export function lineLog(): LineLog & { onLine: (change: LineChange, pause: LinePause) => void } {
  const changes: { change: LineChange; pause: LinePause }[] = [];
  const waiters: (() => void)[] = [];
  const count = (c: LineChange) => changes.filter((x) => x.change === c).length;
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (ok()) resolve();
        else waiters.push(check);
      };
      check();
    });
  let current: LinePause | undefined;
  return {
    changes,
    count,
    onLine(change, pause) {
      changes.push({ change, pause });
      current = change === 'paused' || change === 'retry-failed' ? pause : undefined;
      for (const w of waiters.splice(0)) w();
    },
    async paused() {
      await until(() => current !== undefined);
      return current!;
    },
    async retriesFailed(n) {
      await until(() => (current?.retries ?? 0) >= n);
    },
  };
}

export async function openSimulatedStation(opts: {
  dir: string;
  count: number;
  fixtures?: number;
  config?: Partial<StationConfig>;
  pairing?: PairingClient;
  agentToken?: string;
  log: ReturnType<typeof lineLog>;
}): Promise<Station> {
  return Station.open({
    dataDir: opts.dir,
    config: { ...defaultStationConfig(), stationId: 'fault-station', realm: 'faults', ...opts.config },
    pairing: opts.pairing,
    agentToken: opts.agentToken,
    simulate: { fixtures: opts.fixtures ?? 2, inProcess: true, seed: 7 },
    operator: 'qa',
    maxDevices: opts.count,
    retry: { firstMs: 50, maxMs: 200 },
    onLine: opts.log.onLine,
  });
}

/**
 * What every fault test proves at the end: no device failed, each passed device has every step
 * in the trail, nothing is pending, and the chain verifies.
 */
export function assertNothingLost(station: Station, count: number): void {
  const s = station.summary();
  assert.equal(s.failed, 0, `no device failed for the station's fault: ${JSON.stringify(s.failuresByCode)}`);
  assert.equal(s.passed, count);
  const records = station.audit.query({ step: 'record', limit: 10_000 });
  assert.equal(records.length, count, 'one record per device');
  assert.ok(records.every((r) => r.outcome === 'ok'));
  for (const r of records) {
    const steps = new Set(station.audit.query({ deviceId: r.deviceId, limit: 100 }).map((e) => `${e.step}:${e.outcome}`));
    for (const step of ['register', 'write-secret', 'verify', 'lock', 'write-config', 'record']) {
      assert.ok(steps.has(`${step}:ok`), `${r.hardwareSerial}: ${step} is in the trail`);
    }
    assert.equal(station.db.device(r.deviceId!)?.state, 'provisioned');
  }
  assert.deepEqual(station.pending().records, [], 'no write-ahead record left');
  assert.deepEqual(station.pending().unfinished, [], 'no device left unfinished');
  const chain = station.audit.verify();
  assert.equal(chain.ok, true, JSON.stringify(chain));
}

/** Run `imprint …` to completion; `onStderr` sees stderr as it comes. */
export function imprint(
  args: string[],
  opts: { env?: Record<string, string>; onStderr?: (text: string) => void; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IMPRINT_LOG_LEVEL: 'error', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`imprint ${args.join(' ')} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
