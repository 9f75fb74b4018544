// One device through the station: identify → cross-check → storage status → register → write
// secret → verify → lock → write config → record. Each step is audited; each failure becomes a
// StationFailure with a code, a message and an operator action. The secret lives in memory and
// in the sealed write-ahead record only, from registration until the device confirms the write.
import type { FailureInfo, WorkflowStep } from '../api/station-api.ts';
import type { AuditEventInput, AuditOutcome } from '../audit/audit-types.ts';
import { describeError, ImprintError } from '../common/errors.ts';
import { secretFingerprint } from '../common/secret-fingerprint.ts';
import { canonicalDeviceId, deriveDeviceId, isCanonicalDeviceId } from '../pairing/device-id.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import type { DeviceClient, DeviceIdentity, ProvisioningConfig, StorageStatus } from '../serial/device-types.ts';
import { checkLabel } from '../serial/label-identity.ts';
import { type FailureCode, StationFailure } from './failure-codes.ts';
import type { SecretVault } from './secret-vault.ts';
import type { StationDb } from './station-db.ts';

/** A scanned label, as src/serial/label-parser.ts parses it. */
export interface ScannedLabel {
  kind: 'serial' | 'mac' | 'device-id';
  value: string;
  raw: string;
  gtin?: string;
}

export type DeviceIdRule = { kind: 'uuidv5'; namespace: string } | { kind: 'as-scanned' };

/** Where audit events go (the AuditTrail, or a test double). */
export interface AuditSink {
  /** May return a promise that settles once the event is durable. */
  append(event: AuditEventInput): unknown;
}

/**
 * Which pairing core registers a device. A seam for the offline fallback (issue 6): a resolver
 * may answer the embedded core under an offline batch when the remote one is unreachable.
 */
export interface PairingRoute {
  client: PairingClient;
  realm: string;
  /** Called once when `client` is unreachable; may return another route to retry on. */
  onUnreachable?: (error: unknown) => Promise<PairingRoute | undefined>;
}

export interface WorkflowContext {
  stationId: string;
  pairing: PairingRoute;
  vault: SecretVault;
  db: StationDb;
  audit: AuditSink;
  deviceIdRule: DeviceIdRule;
  /** Label parser (src/serial/label-parser.ts); throws on a label it does not recognise. */
  parseLabel: (text: string) => ScannedLabel;
  /** Written into the device's provisioning config. */
  pairingUrl: string;
  brokerUrl?: string;
}

export interface DeviceJob {
  fixture: string;
  devicePort?: string;
  device: DeviceClient;
  /** The scanned label as read (parsed here: an unreadable label fails the device). */
  labelText?: string;
  operator?: string;
  batchId?: string;
  onStep?: (step: WorkflowStep, info: { deviceId?: string; hardwareSerial?: string }) => void;
}

export interface ProvisionResult {
  outcome: 'pass' | 'fail';
  /** 'new': registered and written now; 'resumed': finished a device holding our pending secret. */
  kind?: 'new' | 'resumed';
  deviceId?: string;
  hardwareSerial?: string;
  failure?: FailureInfo;
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
}

const DEVICE_CODES: Partial<Record<string, FailureCode>> = {
  TIMEOUT: 'DEVICE_TIMEOUT',
  DISCONNECTED: 'DEVICE_DISCONNECTED',
  PORT_ERROR: 'PORT_ERROR',
  TORN: 'STORAGE_TORN',
  LOCKED: 'STORAGE_LOCKED',
  ALREADY_WRITTEN: 'UNKNOWN_SECRET',
  DEVICE_FAULT: 'DEVICE_FAULT',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_DEVICE',
  UNSUPPORTED_DEVICE: 'UNSUPPORTED_DEVICE',
};

/** Map a device-side error to a failure code; `fallback` for refusals specific to the step. */
function deviceFailure(e: unknown, fallback: FailureCode): StationFailure {
  if (e instanceof StationFailure) return e;
  const code = e instanceof ImprintError ? DEVICE_CODES[e.code] : undefined;
  return new StationFailure(code ?? fallback, { detail: describeError(e), cause: e });
}

export class ProvisioningWorkflow {
  private readonly ctx: WorkflowContext;

  constructor(ctx: WorkflowContext) {
    this.ctx = ctx;
  }

  async provision(job: DeviceJob): Promise<ProvisionResult> {
    const run = new DeviceRun(this.ctx, job);
    return run.execute();
  }
}

/** The state of one device going through the workflow. */
class DeviceRun {
  private readonly ctx: WorkflowContext;
  private readonly job: DeviceJob;
  private readonly started = performance.now();
  private deviceMs = 0;
  private pairingMs = 0;
  private commitMs = 0;
  private deviceId?: string;
  private hardwareSerial?: string;
  private fingerprint?: string;
  private label?: ScannedLabel;
  private events: AuditEventInput[] = [];
  private step: WorkflowStep = 'identify';
  private stepStarted = performance.now();

  constructor(ctx: WorkflowContext, job: DeviceJob) {
    this.ctx = ctx;
    this.job = job;
  }

  async execute(): Promise<ProvisionResult> {
    let failure: StationFailure;
    try {
      const kind = await this.steps();
      this.enter('record');
      // The record is durable in the trail before the registry says "provisioned": a crash in
      // between finishes the device again at restart rather than losing its record.
      try {
        this.audit('record', 'ok', {
          message: kind === 'resumed' ? 'provisioned (resumed a pending secret)' : 'provisioned',
          durationMs: this.elapsedMs(),
        });
        await this.committed(this.flushAudit());
      } catch (e) {
        throw new StationFailure('STATION_ERROR', { detail: `audit trail: ${describeError(e)}`, cause: e });
      }
      this.ctx.db.markProvisioned(this.deviceId!, new Date().toISOString());
      this.enter('done');
      return { outcome: 'pass', kind, ...this.identityFields(), secretFingerprint: this.fingerprint, timing: this.timing() };
    } catch (e) {
      failure = e instanceof StationFailure ? e : new StationFailure('STATION_ERROR', { detail: describeError(e), cause: e });
    }
    if (this.step !== 'record') this.audit(this.step, 'fail', { errorCode: failure.code, message: failure.message });
    this.audit('record', 'fail', { errorCode: failure.code, message: failure.message, durationMs: this.elapsedMs() });
    await this.committed(this.flushAudit()).catch(() => {});
    this.enter('done');
    return { outcome: 'fail', ...this.identityFields(), failure: failure.info, timing: this.timing() };
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
    this.ctx.vault.discardForDevice(this.deviceId);

    this.enter('register');
    const secret = await this.register();
    // The sealed write-ahead record (on the vault's writer thread) and the trail's events so far
    // are committed durably side by side; the secret is sent only once both are on disk.
    this.fingerprint = secretFingerprint(secret);
    this.audit('register', 'ok', { data: { realm: this.ctx.pairing.realm } });
    const [sealed] = await this.committed(
      Promise.all([
        this.ctx.vault.put(
          {
            deviceId: this.deviceId,
            hardwareSerial: this.hardwareSerial!,
            fixture: this.job.fixture,
            devicePort: this.job.devicePort,
            batchId: this.job.batchId,
            operator: this.job.operator,
          },
          secret,
        ),
        this.flushAudit(),
      ]),
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
      this.ctx.vault.discard(sealed.vaultId);
      throw new StationFailure('DIGEST_MISMATCH');
    }
    this.confirm(sealed.vaultId, sealed.digest);
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
      this.ctx.vault.discard(vaultId);
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
    this.ctx.vault.discard(vaultId);
    if (status.state === 'torn') throw new StationFailure('STORAGE_TORN', { cause: error });
    throw error;
  }

  /** Storage is not empty: finish our own pending or half-done device, refuse anything else. */
  private async handleWritten(storage: StorageStatus): Promise<'resumed'> {
    if (storage.state === 'torn') {
      this.ctx.vault.discardForDevice(this.deviceId!); // a torn storage holds no whole secret
      throw new StationFailure('STORAGE_TORN');
    }
    if (storage.state === 'empty') throw new StationFailure('STATION_ERROR', { detail: 'unexpected empty storage' });
    const { digest } = storage;
    const pending = this.ctx.vault.pendingByDigest(digest);
    if (pending && pending.deviceId === this.deviceId) {
      // Our secret reached the device but the confirmation did not reach us (crash, unplug).
      this.fingerprint = pending.fingerprint;
      this.confirm(pending.id, digest);
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
    this.ctx.vault.discardForDevice(this.deviceId!);
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

  private derivedId(serial: string): string | undefined {
    const rule = this.ctx.deviceIdRule;
    return rule.kind === 'uuidv5' ? deriveDeviceId(serial, rule.namespace) : undefined;
  }

  private makeDeviceId(identity: DeviceIdentity): string {
    const rule = this.ctx.deviceIdRule;
    if (rule.kind === 'uuidv5') return deriveDeviceId(identity.hardwareSerial, rule.namespace);
    const candidate = this.label?.kind === 'device-id' ? this.label.value : identity.deviceId;
    if (!candidate || !isCanonicalDeviceId(canonicalOrEmpty(candidate))) {
      throw new StationFailure('INVALID_DEVICE_ID', { detail: 'the rule is as-scanned but no device id was scanned' });
    }
    return canonicalDeviceId(candidate);
  }

  private async register(): Promise<string> {
    let route: PairingRoute | undefined = this.ctx.pairing;
    let retried = false;
    while (route) {
      const t = performance.now();
      try {
        const { credentialsSecret } = await route.client.registerDevice(route.realm, this.deviceId!);
        return credentialsSecret;
      } catch (e) {
        const code = e instanceof ImprintError ? e.code : undefined;
        if (code === 'UNREACHABLE' || code === 'REMOTE_ERROR') {
          const next: PairingRoute | undefined = retried ? undefined : await route.onUnreachable?.(e);
          if (next) {
            route = next;
            retried = true;
            continue;
          }
          throw new StationFailure('PAIRING_UNREACHABLE', { detail: describeError(e), cause: e });
        }
        if (code === 'ALREADY_REGISTERED') throw new StationFailure('DEVICE_ALREADY_REGISTERED', { cause: e });
        throw new StationFailure('PAIRING_REJECTED', { detail: describeError(e), cause: e });
      } finally {
        this.pairingMs += performance.now() - t;
      }
    }
    throw new StationFailure('PAIRING_UNREACHABLE');
  }

  /** The device proved it holds the secret: wipe the write-ahead record, keep the digest. */
  private confirm(vaultId: number, digest: string): void {
    this.ctx.vault.confirm(vaultId, {
      deviceId: this.deviceId!,
      hardwareSerial: this.hardwareSerial!,
      digest,
      fingerprint: this.fingerprint!,
      fixture: this.job.fixture,
      batchId: this.job.batchId,
      writtenAt: new Date().toISOString(),
    });
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

  /** Append the buffered events; settles when the last one is durable. */
  private flushAudit(): Promise<void> {
    const events = this.events;
    this.events = [];
    const appended: unknown[] = [];
    try {
      for (const e of events) appended.push(this.ctx.audit.append(e));
    } catch (e) {
      appended.push(Promise.reject(e));
    }
    const done = Promise.all(appended).then(() => {});
    done.catch(() => {}); // the sink reports its own errors; callers that care await `done`
    return done;
  }

  private identityFields(): { deviceId?: string; hardwareSerial?: string } {
    return { deviceId: this.deviceId, hardwareSerial: this.hardwareSerial };
  }

  /** Await a durable commit, counting the wait apart from the station's own time. */
  private async committed<T>(commit: Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await commit;
    } finally {
      this.commitMs += performance.now() - t;
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
