// Settling what a crash left behind. Each sealed write-ahead record (and each device confirmed but
// not yet locked and configured) is resolved from the digest its device reports:
//   digest matches → complete it (lock, config, record PASS, wipe the record);
//   empty          → wipe the record (the core registration is harmless: re-registration is
//                    allowed before first use) and the device is registered afresh next time;
//   anything else  → record a FAIL for QA and wipe the record;
//   device gone    → a simulated device whose simulator is gone holds nothing any more: settled
//                    by itself, audited (pending-decisions.ts), as an operator's --discard would;
//   no answer      → keep the record pending, note why (`station status`), and report it.
import type { AuditEventInput } from '../audit/audit-types.ts';
import { describeError } from '../common/errors.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import type { DeviceClient, StorageStatus } from '../serial/device-types.ts';
import { type FailureCode, failureInfo } from './failure-codes.ts';
import type { LineFault } from './line-faults.ts';
import { LineGate, LineInterrupted } from './line-gate.ts';
import { type DecisionContext, discardPending, setAsideDevice } from './pending-decisions.ts';
import type { AuditSink, ProvisioningWorkflow } from './provisioning-workflow.ts';
import type { SecretVault } from './secret-vault.ts';
import type { RegistryRow, StationDb, VaultRow } from './station-db.ts';

export interface LocatedDevice {
  client: DeviceClient;
  devicePort?: string;
  /** Done with the device; told how its record was settled. */
  release(outcome?: RecoveryOutcome): Promise<void>;
}

/** The device is known to exist no more (a simulated device whose simulator and storage are gone). */
export interface GoneDevice {
  gone: true;
  reason: string;
}

/** Find the device a record belongs to: by its fixture's port, or (simulated) by its serial. */
export type DeviceLocator = (record: {
  fixture: string;
  devicePort?: string;
  hardwareSerial: string;
  simulated: boolean;
}) => Promise<LocatedDevice | GoneDevice | undefined>;

export type RecoveryOutcome = 'completed' | 'discarded' | 'failed' | 'kept';

export interface RecoveryItem {
  source: 'vault' | 'registry';
  /** The write-ahead record's id (source 'vault'). */
  recordId?: number;
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  outcome: RecoveryOutcome;
  code?: string;
  detail: string;
}

export interface RecoveryReport {
  items: RecoveryItem[];
  completed: number;
  discarded: number;
  failed: number;
  kept: number;
  /** A station fault stopped recovery (storage, pairing): what is left was not tried. */
  interruptedBy?: LineFault;
}

export interface RecoveryContext {
  stationId: string;
  vault: SecretVault;
  db: StationDb;
  audit: AuditSink;
  workflow: ProvisioningWorkflow;
  locate: DeviceLocator;
  /** Needed to settle a gone device's record (its core registration); without it such records are kept. */
  pairing?: PairingClient;
  realm?: string;
  operator?: string;
  batchId?: string;
  /** The station's line gate (default: one that does not wait). */
  line?: LineGate;
}

interface Target {
  source: 'vault' | 'registry';
  row: VaultRow | RegistryRow;
  vaultId?: number;
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  devicePort?: string;
  digest: string;
  fingerprint: string;
  simulated: boolean;
}

const target = (source: Target['source'], row: VaultRow | RegistryRow): Target => ({
  source,
  row,
  vaultId: 'id' in row ? row.id : undefined,
  deviceId: row.deviceId,
  hardwareSerial: row.hardwareSerial,
  fixture: row.fixture,
  devicePort: 'devicePort' in row ? row.devicePort : undefined,
  digest: row.digest,
  fingerprint: row.fingerprint,
  simulated: row.simulated,
});

export async function recoverPending(ctx: RecoveryContext): Promise<RecoveryReport> {
  const line = ctx.line ?? new LineGate({ wait: false });
  const targets: Target[] = [
    ...ctx.vault.pending().map((r) => target('vault', r)),
    ...ctx.db.devicesInState('written').map((r) => target('registry', r)),
  ];
  const items: RecoveryItem[] = [];
  let interruptedBy: LineFault | undefined;
  for (const t of targets) {
    if (interruptedBy) {
      items.push(itemOf(t, 'kept', `not tried: ${interruptedBy.detail}`));
      continue;
    }
    try {
      const item = await recoverOne(ctx, line, t);
      if (item.outcome === 'kept') await note(ctx, line, t, item.detail);
      items.push(item);
    } catch (e) {
      if (!(e instanceof LineInterrupted)) throw e;
      interruptedBy = e.fault;
      items.push(itemOf(t, 'kept', `station fault: ${e.message}`));
    }
  }
  const count = (o: RecoveryOutcome) => items.filter((i) => i.outcome === o).length;
  return {
    items,
    completed: count('completed'),
    discarded: count('discarded'),
    failed: count('failed'),
    kept: count('kept'),
    interruptedBy,
  };
}

function itemOf(t: Target, outcome: RecoveryOutcome, detail: string, code?: string): RecoveryItem {
  return {
    source: t.source,
    recordId: t.vaultId,
    deviceId: t.deviceId,
    hardwareSerial: t.hardwareSerial,
    fixture: t.fixture,
    outcome,
    code,
    detail,
  };
}

/** Why a record is still pending, for `station status` (best effort: a station fault only skips the note). */
async function note(ctx: RecoveryContext, line: LineGate, t: Target, reason: string): Promise<void> {
  const at = new Date().toISOString();
  await line
    .guard(t.source === 'vault' ? 'vault' : 'registry', () =>
      t.vaultId !== undefined
        ? ctx.db.notePendingRecord(t.vaultId, reason, at)
        : ctx.db.notePendingDevice(t.deviceId, reason, at),
    )
    .catch((e: unknown) => {
      if (!(e instanceof LineInterrupted)) throw e;
    });
}

async function recoverOne(ctx: RecoveryContext, line: LineGate, t: Target): Promise<RecoveryItem> {
  let located: LocatedDevice | GoneDevice | undefined;
  try {
    located = await ctx.locate(t);
  } catch (e) {
    return itemOf(t, 'kept', `device not reachable: ${describeError(e)}`);
  }
  if (!located) return itemOf(t, 'kept', 'no fixture or port known for this device');
  if ('gone' in located) return settleGone(ctx, line, t, located.reason);
  let result: RecoveryItem | undefined;
  try {
    result = await settle(ctx, line, t, located);
    return result;
  } finally {
    await located.release(result?.outcome).catch(() => {});
  }
}

/** The device exists no more: the same settlement an operator's decision makes, by the station itself. */
async function settleGone(ctx: RecoveryContext, line: LineGate, t: Target, reason: string): Promise<RecoveryItem> {
  if (!ctx.pairing || !ctx.realm) return itemOf(t, 'kept', `${reason}; no pairing core to settle it with`);
  const decision: DecisionContext = { ...ctx, pairing: ctx.pairing, realm: ctx.realm, line };
  const by = { operator: ctx.operator ?? 'station', reason, automatic: true };
  if (t.source === 'vault') {
    const d = await discardPending(decision, t.row as VaultRow, by);
    return itemOf(t, 'discarded', d.detail);
  }
  const d = await setAsideDevice(decision, t.row as RegistryRow, by);
  return itemOf(t, 'failed', d.detail, 'DEVICE_GONE');
}

async function settle(ctx: RecoveryContext, line: LineGate, t: Target, located: LocatedDevice): Promise<RecoveryItem> {
  const audit = (outcome: AuditEventInput['outcome'], step: string, extra: Partial<AuditEventInput> = {}) =>
    line.guard('audit', () =>
      ctx.audit.append({
        station: ctx.stationId,
        operator: ctx.operator,
        fixture: t.fixture,
        batchId: ctx.batchId,
        deviceId: t.deviceId,
        hardwareSerial: t.hardwareSerial,
        secretFingerprint: t.fingerprint,
        step,
        outcome,
        ...extra,
      }),
    );
  let status: StorageStatus;
  try {
    const identity = await located.client.identity();
    if (identity.hardwareSerial !== t.hardwareSerial) {
      return itemOf(t, 'kept', `fixture ${t.fixture} now holds another device (${identity.hardwareSerial})`);
    }
    status = await located.client.storageStatus();
  } catch (e) {
    return itemOf(t, 'kept', `device did not answer: ${describeError(e)}`);
  }

  if ((status.state === 'written' || status.state === 'locked') && status.digest === t.digest) {
    // The workflow sees our digest (pending or confirmed) and finishes the device.
    const result = await ctx.workflow.provision({
      fixture: t.fixture,
      devicePort: located.devicePort ?? t.devicePort,
      device: located.client,
      operator: ctx.operator,
      batchId: ctx.batchId,
      simulated: t.simulated,
    });
    if (result.outcome === 'pass') return itemOf(t, 'completed', 'device holds the secret: completed');
    if (result.outcome === 'interrupted') throw new LineInterrupted(result.interruptedBy);
    // Lock or config failed: the secret is confirmed (registry), the device is finished next time.
    return itemOf(t, 'failed', result.failure?.message ?? 'completion failed', result.failure?.code);
  }

  // The trail first, then the wipe: a crash in between settles the record again, never silently.
  if (status.state === 'empty' && t.vaultId !== undefined) {
    const vaultId = t.vaultId;
    await audit('info', 'recover', {
      message: 'write-ahead record discarded: the device storage is empty; it will be registered again',
    });
    await line.guard('vault', () => ctx.vault.discard(vaultId));
    return itemOf(t, 'discarded', 'device storage is empty: record discarded, the device will be registered again');
  }

  const code: FailureCode = status.state === 'torn' ? 'STORAGE_TORN' : 'RECOVERY_MISMATCH';
  const info = failureInfo(code);
  await audit('fail', 'recover', { errorCode: code, message: `${info.message} (storage ${status.state})` });
  await audit('fail', 'record', { errorCode: code, message: info.message });
  const vaultId = t.vaultId;
  if (vaultId !== undefined) await line.guard('vault', () => ctx.vault.discard(vaultId));
  else await line.guard('registry', () => ctx.db.markFailed(t.deviceId));
  return itemOf(t, 'failed', `${info.message} Storage: ${status.state}.`, code);
}
