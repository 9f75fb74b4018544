// One device through the station: identify → cross-check → storage status → register → write
// secret → verify → lock → write config → record. Each step is audited; each failure of the device
// becomes a StationFailure with a code, a message and an operator action. The secret lives in
// memory and in the sealed write-ahead record only, from registration until the device confirms
// the write. Every station-side step (registration, write-ahead record, trail, registry) runs
// through the line gate: a fault of the station itself pauses the whole line and the step waits
// to be retried; it never fails the device (line-gate.ts).

import type { AuditEventInput, AuditOutcome } from '../audit/audit-types.ts';
import { canonicalDeviceId, deriveDeviceId, isCanonicalDeviceId } from '../common/device-id.ts';
import { describeError, ImprintError } from '../common/errors.ts';
import { secretFingerprint } from '../common/secret-fingerprint.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import { type DeviceErrorCode, isDeviceError } from '../serial/device-error.ts';
import type { DeviceClient, DeviceIdentity, ProvisioningConfig, StorageStatus } from '../serial/device-types.ts';
import { checkLabel } from '../serial/label-identity.ts';
import type { ParsedLabel } from '../serial/label-parser.ts';
import type { DeviceIdRule } from './device-id-rule.ts';
import { type FailureCode, StationFailure } from './failure-codes.ts';
import type { LineFault, StationStep } from './line-faults.ts';
import { LineGate, LineInterrupted } from './line-gate.ts';
import type { SecretVault } from './secret-vault.ts';
import type { StationDb } from './station-db.ts';
import type { FailureInfo, WorkflowStep } from './station-types.ts';

/** Where audit events go (the AuditTrail, or a test double). */
export interface AuditSink {
  /** May return a promise that settles once the event is durable. */
  append(event: AuditEventInput): unknown;
}

/** Which pairing core registers a device, in which realm (the offline policy lives in the client). */
export interface PairingRoute {
  client: PairingClient;
  realm: string;
}

export interface WorkflowContext {
  stationId: string;
  pairing: PairingRoute;
  vault: SecretVault;
  db: StationDb;
  audit: AuditSink;
  deviceIdRule: DeviceIdRule;
  /** Label parser (src/serial/label-parser.ts); throws on a label it does not recognise. */
  parseLabel: (text: string) => ParsedLabel;
  /** Written into the device's provisioning config. */
  pairingUrl: string;
  brokerUrl?: string;
  /** The line's gate (Station owns it). Default: one that does not wait, so a station fault interrupts the device. */
  line?: LineGate;
}

export interface DeviceJob {
  fixture: string;
  devicePort?: string;
  device: DeviceClient;
  /** The scanned label as read (parsed here: an unreadable label fails the device). */
  labelText?: string;
  operator?: string;
  batchId?: string;
  /** A simulated device (recorded with its pending record: recovery settles it by itself once the simulator is gone). */
  simulated?: boolean;
  onStep?: (step: WorkflowStep, info: { deviceId?: string; hardwareSerial?: string }) => void;
}

export interface ProvisionResult {
  /** 'interrupted': a station fault stopped the device mid-way (not counted; pending records stay for recovery). */
  outcome: 'pass' | 'fail' | 'interrupted';
  /** 'new': registered and written now; 'resumed': finished a device holding our pending secret. */
  kind?: 'new' | 'resumed';
  deviceId?: string;
  hardwareSerial?: string;
  failure?: FailureInfo;
  /** Why an interrupted device stopped (undefined: the line was stopped while paused). */
  interruptedBy?: LineFault;
  secretFingerprint?: string;
  timing: WorkflowTiming;
}

/** Where the time of one device went: the station's own share is total minus the three waits. */
export interface WorkflowTiming {
  totalMs: number;
  /** Awaiting the device (serial round trips, its storage programming). */
  deviceMs: number;
  /** Awaiting the pairing core. */
  pairingMs: number;
  /** Awaiting durable commits (write-ahead record and audit trail, which overlap). */
  commitMs: number;
  /** Waiting while the line was paused by a station fault (not in the figures above). */
  pausedMs: number;
}

/** Each device error as the device's failure; undefined: the failure of the step that met it. */
const DEVICE_FAILURES: Record<DeviceErrorCode, FailureCode | undefined> = {
  TIMEOUT: 'DEVICE_TIMEOUT',
  DISCONNECTED: 'DEVICE_DISCONNECTED',
  PORT_ERROR: 'PORT_ERROR',
  // The fixture's adapter is not found by its USB identity: its port cannot be opened.
  USB_PORT_NOT_FOUND: 'PORT_ERROR',
  USB_PORT_AMBIGUOUS: 'PORT_ERROR',
  TORN: 'STORAGE_TORN',
  LOCKED: 'STORAGE_LOCKED',
  ALREADY_WRITTEN: 'UNKNOWN_SECRET',
  DEVICE_FAULT: 'DEVICE_FAULT',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_DEVICE',
  UNSUPPORTED_DEVICE: 'UNSUPPORTED_DEVICE',
  NOT_ALLOWED: undefined,
  BAD_ARGUMENT: undefined,
  UNKNOWN_COMMAND: undefined,
};

/** Map a device-side error to a failure code; `fallback` for refusals specific to the step. */
function deviceFailure(e: unknown, fallback: FailureCode): StationFailure {
  if (e instanceof StationFailure) return e;
  const code = isDeviceError(e) ? DEVICE_FAILURES[e.code] : undefined;
  return new StationFailure(code ?? fallback, { detail: describeError(e), cause: e });
}

export class ProvisioningWorkflow {
  private readonly ctx: WorkflowContext;
  private readonly line: LineGate;
  #running = 0;

  constructor(ctx: WorkflowContext) {
    this.ctx = ctx;
    this.line = ctx.line ?? new LineGate({ wait: false });
  }

  /** Devices in progress now (the audit batcher stops waiting once each of them waits on the trail). */
  get running(): number {
    return this.#running;
  }

  async provision(job: DeviceJob): Promise<ProvisionResult> {
    const run = new DeviceRun(this.ctx, this.line, job);
    this.#running++;
    try {
      return await run.execute();
    } finally {
      this.#running--;
    }
  }
}

/** The state of one device going through the workflow. */
class DeviceRun {
  private readonly ctx: WorkflowContext;
  private readonly line: LineGate;
  private readonly job: DeviceJob;
  private readonly started = performance.now();
  private deviceMs = 0;
  private pairingMs = 0;
  private commitMs = 0;
  private readonly pausedAtStart: number;
  private deviceId?: string;
  private hardwareSerial?: string;
  private fingerprint?: string;
  private label?: ParsedLabel;
  private derived?: { serial: string; id: string };
  private events: AuditEventInput[] = [];
  private step: WorkflowStep = 'identify';
  private stepStarted = performance.now();

  constructor(ctx: WorkflowContext, line: LineGate, job: DeviceJob) {
    this.ctx = ctx;
    this.line = line;
    this.job = job;
    this.pausedAtStart = line.pausedMs;
  }

  async execute(): Promise<ProvisionResult> {
    let failure: StationFailure;
    try {
      const kind = await this.steps();
      this.enter('record');
      // The record is durable in the trail before the registry says "provisioned": a crash in
      // between finishes the device again at restart rather than losing its record.
      this.audit('record', 'ok', {
        message: kind === 'resumed' ? 'provisioned (resumed a pending secret)' : 'provisioned',
        durationMs: this.elapsedMs(),
      });
      await this.committed(this.flushAudit());
      await this.station('registry', () => this.ctx.db.markProvisioned(this.deviceId!, new Date().toISOString()));
      this.enter('done');
      return { outcome: 'pass', kind, ...this.identityFields(), secretFingerprint: this.fingerprint, timing: this.timing() };
    } catch (e) {
      if (e instanceof LineInterrupted) return this.interrupted(e);
      failure = e instanceof StationFailure ? e : new StationFailure('STATION_ERROR', { detail: describeError(e), cause: e });
    }
    if (this.step !== 'record') this.audit(this.step, 'fail', { errorCode: failure.code, message: failure.message });
    this.audit('record', 'fail', { errorCode: failure.code, message: failure.message, durationMs: this.elapsedMs() });
    try {
      await this.committed(this.flushAudit());
    } catch (e) {
      if (e instanceof LineInterrupted) return this.interrupted(e);
      // Not a station fault (an invalid event: a bug): the failure itself still stands.
    }
    this.enter('done');
    return { outcome: 'fail', ...this.identityFields(), failure: failure.info, timing: this.timing() };
  }

  /** The line was stopped while paused, or the gate does not wait: the device is not counted. */
  private interrupted(e: LineInterrupted): ProvisionResult {
    this.enter('done');
    return { outcome: 'interrupted', ...this.identityFields(), interruptedBy: e.fault, timing: this.timing() };
  }

  private async steps(): Promise<'new' | 'resumed'> {
    const identity = await this.identify();
    this.crossCheck(identity);
    this.deviceId = this.makeDeviceId(identity);
    // Capabilities and frame limit: refuse a device the station cannot finish before writing anything.
    await this.onDevice((d) => d.preflight?.(this.provisioningConfig()) ?? Promise.resolve(), 'STATION_ERROR');

    this.enter('storage-status');
    const storage = await this.onDevice((d) => d.storageStatus(), 'DEVICE_FAULT');
    this.audit('storage-status', 'ok', { data: { state: storage.state } });
    if (storage.state !== 'empty') return this.handleWritten(storage);

    // Empty storage: any record still pending for this device is stale (the write never landed).
    const deviceId = this.deviceId;
    await this.station('vault', () => this.ctx.vault.discardForDevice(deviceId));

    this.enter('register');
    const secret = await this.register();
    // The sealed write-ahead record (on the vault's writer thread) and the trail's events so far
    // are committed durably side by side, each retried until it holds if the station faults;
    // the secret is sent only once both are on disk.
    this.fingerprint = secretFingerprint(secret);
    this.audit('register', 'ok', { data: { realm: this.ctx.pairing.realm } });
    const record = {
      deviceId,
      hardwareSerial: this.hardwareSerial!,
      fixture: this.job.fixture,
      devicePort: this.job.devicePort,
      batchId: this.job.batchId,
      operator: this.job.operator,
      realm: this.ctx.pairing.realm,
      simulated: this.job.simulated === true,
    };
    const [sealed] = await this.committed(
      Promise.all([this.station('vault', () => this.ctx.vault.put(record, secret)), this.flushAudit()]),
    );

    this.enter('write-secret');
    let digest: string;
    try {
      digest = (await this.onDevice((d) => d.writeSecret(secret), 'WRITE_FAILED')).digest;
      this.audit('write-secret', 'ok');
    } catch (e) {
      digest = await this.settleFailedWrite(e as StationFailure, sealed.vaultId, sealed.digest);
    }

    this.enter('verify');
    if (digest !== sealed.digest) {
      await this.station('vault', () => this.ctx.vault.discard(sealed.vaultId));
      throw new StationFailure('DIGEST_MISMATCH');
    }
    await this.confirm(sealed.vaultId, sealed.digest);
    this.audit('verify', 'ok');

    await this.finish(false);
    return 'new';
  }

  /**
   * A write that failed may still have landed. Ask the device once: if it holds our digest the
   * write succeeded; if it holds nothing or something else the record is wiped; if it does not
   * answer, the record stays pending and is settled when the device is seen again (or at start).
   */
  private async settleFailedWrite(error: StationFailure, vaultId: number, ours: string): Promise<string> {
    if (error.code === 'STORAGE_TORN' || error.code === 'STORAGE_LOCKED') {
      await this.station('vault', () => this.ctx.vault.discard(vaultId));
      throw error;
    }
    let status: StorageStatus;
    try {
      status = await this.onDevice((d) => d.storageStatus(), 'DEVICE_FAULT');
    } catch {
      throw error;
    }
    if ((status.state === 'written' || status.state === 'locked') && status.digest === ours) {
      this.audit('write-secret', 'ok', { message: `confirmed by storage status after ${error.code}` });
      return ours;
    }
    await this.station('vault', () => this.ctx.vault.discard(vaultId));
    if (status.state === 'torn') throw new StationFailure('STORAGE_TORN', { cause: error });
    throw error;
  }

  /** Storage is not empty: finish our own pending or half-done device, refuse anything else. */
  private async handleWritten(storage: StorageStatus): Promise<'resumed'> {
    const deviceId = this.deviceId!;
    if (storage.state === 'torn') {
      await this.station('vault', () => this.ctx.vault.discardForDevice(deviceId)); // a torn storage holds no whole secret
      throw new StationFailure('STORAGE_TORN');
    }
    if (storage.state === 'empty') throw new StationFailure('STATION_ERROR', { detail: 'unexpected empty storage' });
    const { digest } = storage;
    const pending = this.ctx.vault.pendingByDigest(digest);
    if (pending && pending.deviceId === this.deviceId) {
      // Our secret reached the device but the confirmation did not reach us (crash, unplug).
      this.fingerprint = pending.fingerprint;
      await this.confirm(pending.id, digest);
      this.audit('verify', 'ok', { message: 'device holds the pending secret: completing it' });
      await this.finish(storage.state === 'locked');
      return 'resumed';
    }
    const known = this.ctx.db.deviceByDigest(digest);
    if (known && known.deviceId === this.deviceId && known.state !== 'failed') {
      this.fingerprint = known.fingerprint;
      if (known.state === 'provisioned')
        throw new StationFailure('ALREADY_PROVISIONED', { detail: 'provisioned by this station' });
      this.audit('verify', 'ok', { message: 'device holds its confirmed secret: finishing lock and config' });
      await this.finish(storage.state === 'locked');
      return 'resumed';
    }
    // Not our digest: no pending secret of ours can be on this device any more.
    await this.station('vault', () => this.ctx.vault.discardForDevice(deviceId));
    if (storage.state === 'locked') throw new StationFailure('ALREADY_PROVISIONED', { detail: 'storage locked' });
    throw new StationFailure('UNKNOWN_SECRET');
  }

  private async identify(): Promise<DeviceIdentity> {
    this.enter('identify');
    const identity = await this.onDevice((d) => d.identity(), 'IDENTITY_UNREADABLE');
    if (!identity || typeof identity.hardwareSerial !== 'string' || identity.hardwareSerial.trim() === '') {
      throw new StationFailure('IDENTITY_UNREADABLE');
    }
    this.hardwareSerial = identity.hardwareSerial;
    if (this.job.labelText !== undefined) {
      try {
        this.label = this.ctx.parseLabel(this.job.labelText);
      } catch (e) {
        throw new StationFailure('LABEL_UNREADABLE', { detail: describeError(e), cause: e });
      }
    }
    this.audit('identify', 'ok', { data: this.label ? { label: this.label.raw } : undefined });
    return identity;
  }

  /** A label that disagrees with the device is a label swap: never trust one over the other. */
  private crossCheck(identity: DeviceIdentity): void {
    const label = this.label;
    if (!label) return;
    this.enter('cross-check');
    const check = checkLabel(label, identity, (serial) => this.derivedId(serial));
    if (!check.agrees) throw new StationFailure('LABEL_MISMATCH', { detail: check.detail });
    this.audit('cross-check', 'ok');
  }

  /** UUIDv5 of a serial under the rule's namespace; the cross-check and the device id share it. */
  private derivedId(serial: string): string | undefined {
    const rule = this.ctx.deviceIdRule;
    if (rule.kind !== 'uuidv5') return undefined;
    if (this.derived?.serial !== serial) this.derived = { serial, id: deriveDeviceId(serial, rule.namespace) };
    return this.derived.id;
  }

  private makeDeviceId(identity: DeviceIdentity): string {
    const rule = this.ctx.deviceIdRule;
    if (rule.kind === 'uuidv5') return this.derivedId(identity.hardwareSerial)!;
    const candidate = this.label?.kind === 'device-id' ? this.label.value : identity.deviceId;
    if (!candidate || !isCanonicalDeviceId(canonicalOrEmpty(candidate))) {
      throw new StationFailure('INVALID_DEVICE_ID', { detail: 'the rule is as-scanned but no device id was scanned' });
    }
    return canonicalDeviceId(candidate);
  }

  /**
   * Only the device's own answers fail it here (already registered and in use, an id the core
   * refuses). The core unreachable, the agent token refused, the registration limit or a core
   * that cannot write pause the line; the registration is retried once it resumes.
   */
  private async register(): Promise<string> {
    const { client, realm } = this.ctx.pairing;
    const deviceId = this.deviceId!;
    const t = performance.now();
    const paused = this.line.pausedMs;
    try {
      return (await this.line.guard('pairing', () => client.registerDevice(realm, deviceId))).credentialsSecret;
    } catch (e) {
      if (e instanceof LineInterrupted) throw e;
      const code = e instanceof ImprintError ? e.code : undefined;
      if (code === 'ALREADY_REGISTERED') throw new StationFailure('DEVICE_ALREADY_REGISTERED', { cause: e });
      throw new StationFailure('PAIRING_REJECTED', { detail: describeError(e), cause: e });
    } finally {
      this.pairingMs += performance.now() - t - (this.line.pausedMs - paused);
    }
  }

  /** The device proved it holds the secret: wipe the write-ahead record, keep the digest. */
  private confirm(vaultId: number, digest: string): Promise<void> {
    const row = {
      deviceId: this.deviceId!,
      hardwareSerial: this.hardwareSerial!,
      digest,
      fingerprint: this.fingerprint!,
      fixture: this.job.fixture,
      batchId: this.job.batchId,
      writtenAt: new Date().toISOString(),
      simulated: this.job.simulated === true,
    };
    return this.station('registry', () => this.ctx.vault.confirm(vaultId, row));
  }

  /** A station-side step: a fault of the station pauses the line and the step waits to be retried. */
  private station<T>(step: StationStep, op: () => T | Promise<T>): Promise<T> {
    return this.line.guard(step, op);
  }

  private async finish(alreadyLocked: boolean): Promise<void> {
    this.enter('lock');
    if (!alreadyLocked) await this.onDevice((d) => d.lock(), 'LOCK_FAILED');
    this.audit('lock', 'ok', alreadyLocked ? { message: 'already locked' } : {});

    this.enter('write-config');
    await this.onDevice((d) => d.writeConfig(this.provisioningConfig()), 'CONFIG_FAILED');
    this.audit('write-config', 'ok');
  }

  private provisioningConfig(): ProvisioningConfig {
    return {
      realm: this.ctx.pairing.realm,
      deviceId: this.deviceId!,
      pairingUrl: this.ctx.pairingUrl,
      ...(this.ctx.brokerUrl ? { brokerUrl: this.ctx.brokerUrl } : {}),
    };
  }

  private async onDevice<T>(fn: (d: DeviceClient) => Promise<T>, fallback: FailureCode): Promise<T> {
    const t = performance.now();
    try {
      return await fn(this.job.device);
    } catch (e) {
      throw deviceFailure(e, fallback);
    } finally {
      this.deviceMs += performance.now() - t;
    }
  }

  private enter(step: WorkflowStep): void {
    this.step = step;
    this.stepStarted = performance.now();
    this.job.onStep?.(step, this.identityFields());
  }

  /**
   * Events are buffered per device and appended together at the two points that matter (before
   * the secret is sent, and the record), so one device costs the trail two group commits, not nine.
   */
  private audit(step: string, outcome: AuditOutcome, extra: Partial<AuditEventInput> = {}): void {
    this.events.push({
      station: this.ctx.stationId,
      operator: this.job.operator,
      fixture: this.job.fixture,
      batchId: this.job.batchId,
      deviceId: this.deviceId,
      hardwareSerial: this.hardwareSerial,
      step,
      outcome,
      durationMs: Math.round((performance.now() - this.stepStarted) * 1000) / 1000,
      secretFingerprint: this.fingerprint,
      ...extra,
    });
  }

  /**
   * Append the buffered events; settles when the last one is durable. Events a station fault kept
   * from the disk are appended again once the line resumes: the trail misses none.
   */
  private flushAudit(): Promise<void> {
    let events = this.events;
    this.events = [];
    return this.station('audit', async () => {
      const settled = await Promise.allSettled(
        events.map((e) => {
          try {
            return Promise.resolve(this.ctx.audit.append(e));
          } catch (err) {
            return Promise.reject(err);
          }
        }),
      );
      const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ event: events[i], reason: s.reason }] : []));
      if (failed.length === 0) return;
      events = failed.map((f) => f.event);
      throw failed[0].reason;
    });
  }

  private identityFields(): { deviceId?: string; hardwareSerial?: string } {
    return { deviceId: this.deviceId, hardwareSerial: this.hardwareSerial };
  }

  /** Await a durable commit, counting the wait apart from the station's own time. */
  private async committed<T>(commit: Promise<T>): Promise<T> {
    const t = performance.now();
    const paused = this.line.pausedMs;
    try {
      return await commit;
    } finally {
      this.commitMs += performance.now() - t - (this.line.pausedMs - paused);
    }
  }

  private elapsedMs(): number {
    return Math.round((performance.now() - this.started) * 1000) / 1000;
  }

  private timing(): WorkflowTiming {
    return {
      totalMs: performance.now() - this.started,
      deviceMs: this.deviceMs,
      pairingMs: this.pairingMs,
      commitMs: this.commitMs,
      pausedMs: this.line.pausedMs - this.pausedAtStart,
    };
  }
}

function canonicalOrEmpty(id: string): string {
  try {
    return canonicalDeviceId(id);
  } catch {
    return '';
  }
}
