// One fixture (a device socket) as an independent loop: wait for a scan if the fixture needs one,
// wait for a device, run the workflow, release the device, repeat. Fixtures share nothing but the
// station's databases, so a stalled or unplugged device only ever holds up its own fixture.

import { describeError } from '../common/errors.ts';
import type { DeviceClient } from '../serial/device-types.ts';
import type { DeviceJob, ProvisioningWorkflow, ProvisionResult } from './provisioning-workflow.ts';
import type { FixtureState, HeldFailure, WorkflowStep } from './station-types.ts';

/** A device sitting in the fixture, ready to be provisioned. */
export interface PresentedDevice {
  client: DeviceClient;
  devicePort?: string;
  /** The label read with this device by the fixture's own (simulated) scanner, if any. */
  labelText?: string;
  /**
   * The station is done with this device; a simulated line uses the result (e.g. to re-seat it).
   * Without a result the device was not run (the run's budget was spent).
   */
  release(result?: ProvisionResult): Promise<void>;
}

/** Where a fixture's devices come from: a real port, or a simulated line. */
export interface DeviceSource {
  readonly simulated: boolean;
  readonly devicePort?: string;
  readonly scannerPort?: string;
  /** Resolves when the next device is in the fixture; undefined when stopped. */
  next(signal: AbortSignal): Promise<PresentedDevice | undefined>;
  /** This device was already dealt with (by recovery at start): do not run it again. */
  markHandled?(hardwareSerial: string): void;
  /**
   * The presence signal: resolves true once the device last released (its serial, when it said
   * it) is no longer in the fixture; false when `signal` ends the wait. Without it, or for a
   * device that never said who it is, only an acknowledgement releases a held FAIL.
   */
  whenRemoved?(hardwareSerial: string | undefined, signal: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

export interface FixtureRunnerOptions {
  id: string;
  label?: string;
  source: DeviceSource;
  workflow: ProvisioningWorkflow;
  /** Wait for a scan (scanner port or keyboard wedge) before each device. */
  needsScan: boolean;
  /** Who and which batch, read at the start of each device. */
  jobContext: () => Pick<DeviceJob, 'operator' | 'batchId'>;
  /** Permission to run the device now present (the run's budget); false ends this fixture's loop. */
  claim: () => boolean;
  /** Resolves when the line is not paused by a station fault: no new device is taken during a pause. */
  lineOpen?: (signal: AbortSignal) => Promise<void>;
  onState: (state: FixtureState) => void;
  onResult: (result: ProvisionResult, state: FixtureState) => void;
  /** Keep each FAIL on the fixture until acknowledge() or the device is taken out (the UI); the fixture takes no device meanwhile. */
  holdFailures?: boolean;
  /** A held FAIL was released because its device left the fixture (recorded by the station). */
  onHeldFailureRemoved?: (held: HeldFailure) => Promise<void>;
}

export class FixtureRunner {
  private readonly opts: FixtureRunnerOptions;
  private _state: FixtureState;
  private scanWaiter?: (text: string) => void;
  private acknowledged?: () => void;

  constructor(opts: FixtureRunnerOptions) {
    this.opts = opts;
    this._state = {
      id: opts.id,
      label: opts.label ?? opts.id,
      simulated: opts.source.simulated,
      devicePort: opts.source.devicePort,
      scannerPort: opts.source.scannerPort,
      step: 'idle',
    };
  }

  get id(): string {
    return this.opts.id;
  }

  get state(): FixtureState {
    return this._state;
  }

  get waitingForScan(): boolean {
    return this.scanWaiter !== undefined;
  }

  /** Hand a scan to this fixture; false when it is not waiting for one. */
  offerScan(text: string): boolean {
    const waiter = this.scanWaiter;
    if (!waiter) return false;
    this.scanWaiter = undefined;
    waiter(text);
    return true;
  }

  /** Releases a held FAIL; false when the fixture holds none. */
  acknowledge(): boolean {
    const release = this.acknowledged;
    if (!release) return false;
    this.acknowledged = undefined;
    this.update({ heldFailure: undefined });
    release();
    return true;
  }

  /** Adds what happened after a PASS (label, hook) to the state, if the fixture still shows that device. */
  annotate(deviceId: string | undefined, patch: Pick<FixtureState, 'labelPrint' | 'hook'>): void {
    if (this._state.deviceId === deviceId && this._state.outcome === 'pass') this.update(patch);
  }

  /** The loop; resolves when stopped (signal) or when the run's budget is spent. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        let labelText: string | undefined;
        if (this.opts.needsScan) {
          // The last PASS/FAIL stays on screen until the next device starts.
          this.update({ step: 'waiting-scan' });
          labelText = await this.waitForScan(signal);
          if (labelText === undefined) break;
        }
        await this.opts.lineOpen?.(signal);
        if (signal.aborted) break;
        const device = await this.opts.source.next(signal);
        if (!device) break;
        // The budget is taken by devices actually present, so a fixture waiting for a device
        // never holds a share another fixture's device needs.
        if (!this.opts.claim()) {
          await device.release();
          break;
        }
        await this.provision(device, labelText ?? device.labelText, signal);
      } catch (e) {
        if (signal.aborted) break;
        // A source that cannot produce devices (port gone for good) must not spin: back off.
        this.update({
          step: 'idle',
          outcome: 'fail',
          failure: { code: 'STATION_ERROR', message: describeError(e), action: 'Check the fixture port and cable.' },
        });
        await sleep(1000, signal);
      }
    }
    this.scanWaiter = undefined;
    if (this._state.step === 'waiting-scan') this.update({ step: 'idle' });
  }

  private async provision(device: PresentedDevice, labelText: string | undefined, signal: AbortSignal): Promise<void> {
    const ctx = this.opts.jobContext();
    this.update({
      step: 'identify',
      outcome: undefined,
      labelPrint: undefined,
      hook: undefined,
      failure: undefined,
      deviceId: undefined,
      hardwareSerial: undefined,
      startedAt: new Date().toISOString(),
      finishedAt: undefined,
    });
    const result = await this.opts.workflow.provision({
      fixture: this.opts.id,
      devicePort: device.devicePort,
      device: device.client,
      labelText,
      simulated: this.opts.source.simulated,
      ...ctx,
      onStep: (step: WorkflowStep, info) => {
        if (step !== 'done') this.update({ step, ...info });
      },
    });
    if (result.outcome === 'interrupted') {
      // Stopped while the line was paused: neither PASS nor FAIL; a pending record stays for recovery.
      this.update({ step: 'idle', finishedAt: new Date().toISOString() });
    } else {
      this.update({
        step: 'done',
        outcome: result.outcome,
        deviceId: result.deviceId,
        hardwareSerial: result.hardwareSerial,
        failure: result.failure,
        finishedAt: new Date().toISOString(),
      });
      this.opts.onResult(result, this._state);
    }
    await device.release(result);
    if (result.outcome === 'fail' && this.opts.holdFailures && result.failure) {
      const held: HeldFailure = {
        deviceId: result.deviceId,
        hardwareSerial: result.hardwareSerial,
        failure: result.failure,
        at: this._state.finishedAt ?? new Date().toISOString(),
      };
      this.update({ heldFailure: held });
      if ((await this.holdUntilReleased(held, signal)) === 'removed') {
        await this.opts.onHeldFailureRemoved?.(held);
        this.update({ heldFailure: undefined });
      }
    }
  }

  /** A held FAIL waits for acknowledge(), for its device to leave the fixture, or for the line to stop. */
  private holdUntilReleased(held: HeldFailure, signal: AbortSignal): Promise<'acknowledged' | 'removed' | 'stopped'> {
    return new Promise((resolve) => {
      const presence = new AbortController();
      let done = false;
      const finish = (how: 'acknowledged' | 'removed' | 'stopped') => {
        if (done) return;
        done = true;
        if (this.acknowledged === acknowledged) this.acknowledged = undefined;
        signal.removeEventListener('abort', onAbort);
        presence.abort();
        resolve(how);
      };
      const onAbort = () => finish('stopped');
      const acknowledged = () => finish('acknowledged');
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.acknowledged = acknowledged;
      this.opts.source.whenRemoved?.(held.hardwareSerial, presence.signal).then(
        (gone) => gone && finish('removed'),
        () => {},
      );
    });
  }

  private waitForScan(signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const onAbort = () => {
        this.scanWaiter = undefined;
        resolve(undefined);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.scanWaiter = (text) => {
        signal.removeEventListener('abort', onAbort);
        resolve(text);
      };
    });
  }

  private update(patch: Partial<FixtureState>): void {
    this._state = { ...this._state, ...patch };
    this.opts.onState(this._state);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
