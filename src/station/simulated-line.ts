// The simulated line: N fixtures fed with simulated devices, each a fresh serial, read by a
// simulated scanner, some with injected faults. Everything it shows is marked simulated: true.
// Devices run in-process (stream pairs) or in a worker process on real PTYs (line-sim-worker.ts).
// Each simulated device keeps its storage in `<data>/simulated/<serial>.json`, so a station killed
// mid-device finds it again at restart, like a device still sitting in its fixture.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { createDeviceClient, type DeviceClientOptions, type SerialDeviceClient } from '../serial/device-client.ts';
import { openDevicePort } from '../serial/ports.ts';
import type { DeviceSimFaults, DeviceSimOptions } from '../sim/device-simulator.ts';
import { createInProcessDevice } from '../sim/in-process-device.ts';
import { seededRandom } from '../sim/seeded-random.ts';
import { type DeviceSource, type PresentedDevice, sleep } from './fixture-runner.ts';
import type { LineWorkerReply, LineWorkerRequest } from './line-sim-worker.ts';
import type { ProvisionResult } from './provisioning-workflow.ts';
import type { LocatedDevice } from './recovery.ts';
import { StationError } from './station-errors.ts';

export type SimulatedFault = 'label-swap' | 'pre-written' | 'power-loss' | 'unplug-mid-write' | 'noisy-line' | 'silent';

export const SIMULATED_FAULTS: readonly SimulatedFault[] = [
  'label-swap',
  'pre-written',
  'power-loss',
  'unplug-mid-write',
  'noisy-line',
  'silent',
];

export interface SimulatedLineOptions {
  fixtures: number;
  dataDir: string;
  /** In-process stream pairs instead of PTYs in a worker process. */
  inProcess?: boolean;
  /** Probability that a device comes with one of `faults` (default 0). */
  faultRate?: number;
  faults?: readonly SimulatedFault[];
  seed?: number;
  /** Time the simulated OTP takes to program (default 20 ms). */
  writeLatencyMs?: number;
  /** Keep simulated storage on disk (default true; needed to recover after a crash). */
  persistStorage?: boolean;
  /** Time the simulated operator takes to swap in the next device (default 0): lets a UI show each PASS/FAIL. */
  swapDelayMs?: number;
  /**
   * The simulated operator takes a failed device out of its fixture after this long, which
   * releases a held FAIL (default: never; the FAIL waits for Acknowledge). A device to re-seat
   * is taken out at once.
   */
  removeFailedAfterMs?: number;
  clientOpts?: DeviceClientOptions;
}

/** Re-seating after an unplug is what an operator does; these results get the same device again. */
const RESEAT_CODES = new Set(['DEVICE_DISCONNECTED']);
/** The device may hold a secret we are still settling: keep its storage for recovery. */
const KEEP_STORAGE_CODES = new Set(['DEVICE_DISCONNECTED', 'DEVICE_TIMEOUT']);

export function simulatedFixtureId(i: number): string {
  return `sim-${String(i + 1).padStart(2, '0')}`;
}

export function simulatedStorageDir(dataDir: string): string {
  return join(dataDir, 'simulated');
}

/** Plans each new device: its serial, label and faults. */
class DevicePlanner {
  private readonly random: () => number;
  private readonly runTag = randomBytes(3).toString('hex').toUpperCase();
  private counter = 0;
  private readonly opts: SimulatedLineOptions;

  constructor(opts: SimulatedLineOptions) {
    this.opts = opts;
    this.random = seededRandom(opts.seed ?? Date.now());
  }

  plan(fixtureIndex: number): { sim: DeviceSimOptions; labelText: string; fault?: SimulatedFault } {
    const n = ++this.counter;
    const hardwareSerial = `SIM-${this.runTag}-${String(fixtureIndex + 1).padStart(2, '0')}-${String(n).padStart(6, '0')}`;
    const storageFile =
      this.opts.persistStorage === false ? undefined : join(simulatedStorageDir(this.opts.dataDir), `${hardwareSerial}.json`);
    const sim: DeviceSimOptions = {
      hardwareSerial,
      storageFile,
      model: 'imprint-sim',
      writeLatencyMs: this.opts.writeLatencyMs ?? 20,
      seed: Math.floor(this.random() * 2 ** 31),
    };
    let labelText = hardwareSerial;
    const faults = this.opts.faults ?? SIMULATED_FAULTS;
    const rate = this.opts.faultRate ?? 0;
    if (rate <= 0 || faults.length === 0 || this.random() >= rate) return { sim, labelText };
    const fault = faults[Math.floor(this.random() * faults.length)];
    const f: DeviceSimFaults = {};
    if (fault === 'label-swap') labelText = `SIM-${this.runTag}-XX-${String(n + 1).padStart(6, '0')}`;
    else if (fault === 'pre-written') f.preWrittenSecret = randomBytes(32).toString('base64');
    else if (fault === 'power-loss') f.powerLossDuringWrite = true;
    else if (fault === 'unplug-mid-write') f.disconnectMidWrite = true;
    else if (fault === 'noisy-line') Object.assign(f, { dropRate: 0.03, corruptRate: 0.03 });
    else if (fault === 'silent') f.silent = true;
    return { sim: { ...sim, faults: f }, labelText, fault };
  }
}

interface Plugged {
  client: SerialDeviceClient;
  devicePort?: string;
  /** Take the device out; `removeStorage` also deletes its storage file (it left the line). */
  unplug(removeStorage?: string): Promise<void>;
}

/** How a fixture's device gets wired: in-process, or through the PTY worker. */
type Wiring = (fixture: string, sim: DeviceSimOptions) => Promise<Plugged>;

class SimulatedSource implements DeviceSource {
  readonly simulated = true;
  devicePort?: string;
  readonly scannerPort = undefined;
  private reseat?: { sim: DeviceSimOptions; labelText: string };
  private presented = false;

  constructor(
    private readonly fixture: string,
    private readonly index: number,
    private readonly planner: DevicePlanner,
    private readonly wire: Wiring,
    private readonly swapDelayMs = 0,
    private readonly removeFailedAfterMs?: number,
  ) {}

  /** Where the simulated operator is: re-seating a device takes it out now; a failed one after removeFailedAfterMs. */
  async whenRemoved(hardwareSerial: string | undefined, signal: AbortSignal): Promise<boolean> {
    if (hardwareSerial !== undefined && this.reseat?.sim.hardwareSerial === hardwareSerial) return true;
    if (this.removeFailedAfterMs === undefined) {
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      return false;
    }
    await sleep(this.removeFailedAfterMs, signal);
    return !signal.aborted;
  }

  async next(signal: AbortSignal): Promise<PresentedDevice | undefined> {
    if (this.presented && this.swapDelayMs > 0) await sleep(this.swapDelayMs, signal);
    this.presented = true;
    if (signal.aborted) return undefined;
    const reseated = this.reseat !== undefined;
    const planned = this.reseat ?? this.planner.plan(this.index);
    this.reseat = undefined;
    const plugged = await this.wire(this.fixture, planned.sim);
    this.devicePort = plugged.devicePort;
    return {
      client: plugged.client,
      devicePort: plugged.devicePort,
      labelText: planned.labelText,
      release: async (result?: ProvisionResult) => {
        const code = result?.failure?.code;
        if (code && RESEAT_CODES.has(code) && planned.sim.faults) {
          // The operator re-seats the device: same serial and storage, the one-shot fault is spent.
          this.reseat = { sim: { ...planned.sim, faults: undefined }, labelText: planned.labelText };
          await plugged.unplug();
          return;
        }
        // A re-seated device that was not run again may hold a pending secret: its storage stays
        // for recovery. A device never run, or finished, leaves the line.
        // An interrupted device (the line stopped while paused) may hold our secret: it stays too.
        const keep = result ? result.outcome === 'interrupted' || (code !== undefined && KEEP_STORAGE_CODES.has(code)) : reseated;
        const leaves = planned.sim.storageFile && !keep;
        await plugged.unplug(leaves ? planned.sim.storageFile : undefined);
      },
    };
  }

  async close(): Promise<void> {}
}

function inProcessWiring(clientOpts?: DeviceClientOptions): Wiring {
  return async (_fixture, sim) => {
    const dev = await createInProcessDevice({ ...sim, clientOpts });
    return {
      client: dev.client,
      unplug: async (removeStorage) => {
        await dev.close();
        if (removeStorage) rmSync(removeStorage, { force: true });
      },
    };
  };
}

/** The worker process hosting the PTY devices, and the station end of each fixture's port. */
class PtyLine {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (path?: string) => void; reject: (e: Error) => void }>();
  private readonly clients = new Map<string, SerialDeviceClient>();

  constructor(private readonly clientOpts?: DeviceClientOptions) {}

  private start(): Promise<void> {
    this.ready ??= new Promise((resolve, reject) => {
      const worker = new URL('./line-sim-worker.ts', import.meta.url);
      // tsx resolved here, not from the working directory: `station run` works from any folder.
      const child = fork(worker, [], {
        execArgv: ['--import', import.meta.resolve('tsx')],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      this.child = child;
      child.on('message', (msg: LineWorkerReply) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'done') {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p?.reject(new StationError('SIMULATOR_ERROR', msg.error));
          else p?.resolve(msg.path);
        }
      });
      child.once('exit', (code) => {
        const err = new StationError('SIMULATOR_ERROR', `the simulated line's worker exited (${code})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
    return this.ready;
  }

  private request(
    msg: LineWorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never,
  ): Promise<string | undefined> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child!.send({ ...msg, id } as LineWorkerRequest);
    });
  }

  readonly wiring: Wiring = async (fixture, sim) => {
    await this.start();
    const path = (await this.request({ type: 'plug', fixture, sim }))!;
    let client = this.clients.get(fixture);
    if (!client?.isOpen) {
      await client?.close().catch(() => {});
      const stream = await openDevicePort(path);
      client = createDeviceClient(stream, { label: fixture, ...this.clientOpts });
      this.clients.set(fixture, client);
    }
    const c = client;
    return {
      client: c,
      devicePort: path,
      unplug: async (removeStorage) => void (await this.request({ type: 'unplug', fixture, removeStorage })),
    };
  };

  async close(): Promise<void> {
    for (const c of this.clients.values()) await c.close().catch(() => {});
    this.clients.clear();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.connected) child.disconnect();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
}

export class SimulatedLine {
  readonly sources: DeviceSource[];
  private readonly pty?: PtyLine;

  constructor(opts: SimulatedLineOptions) {
    if (opts.persistStorage !== false) ensurePrivateDir(simulatedStorageDir(opts.dataDir));
    const planner = new DevicePlanner(opts);
    this.pty = opts.inProcess ? undefined : new PtyLine(opts.clientOpts);
    const wiring = this.pty ? this.pty.wiring : inProcessWiring(opts.clientOpts);
    this.sources = Array.from(
      { length: opts.fixtures },
      (_, i) => new SimulatedSource(simulatedFixtureId(i), i, planner, wiring, opts.swapDelayMs, opts.removeFailedAfterMs),
    );
  }

  async close(): Promise<void> {
    await this.pty?.close();
  }
}

/**
 * Recovery for simulated devices: a device left in a fixture is found again by its storage file.
 * Without one (undefined) the simulated device never stored anything and its simulator is gone.
 */
export function simulatedDeviceLocator(
  dataDir: string,
  clientOpts?: DeviceClientOptions,
): (record: { hardwareSerial: string }) => Promise<LocatedDevice | undefined> {
  return async ({ hardwareSerial }) => {
    const storageFile = join(simulatedStorageDir(dataDir), `${hardwareSerial}.json`);
    if (!existsSync(storageFile)) return undefined;
    const dev = await createInProcessDevice({ hardwareSerial, storageFile, model: 'imprint-sim', clientOpts });
    return {
      client: dev.client,
      release: async (outcome) => {
        await dev.close();
        // Settled devices leave the line; a kept one stays for the next attempt.
        if (outcome && outcome !== 'kept') rmSync(storageFile, { force: true });
      },
    };
  };
}
