// Settling what a crash left behind. Each sealed write-ahead record (and each device confirmed but
// not yet locked and configured) is resolved from the digest its device reports:
//   digest matches → complete it (lock, config, record PASS, wipe the record);
//   empty          → wipe the record (the core registration is harmless: re-registration is
//                    allowed before first use) and the device is registered afresh next time;
//   anything else  → record a FAIL for QA and wipe the record;
//   no answer      → keep the record pending and report it.
import type { AuditEventInput } from '../audit/audit-types.ts';
import { describeError } from '../common/errors.ts';
import type { DeviceClient, StorageStatus } from '../serial/device-types.ts';
import { type FailureCode, failureInfo } from './failure-codes.ts';
import type { AuditSink, ProvisioningWorkflow } from './provisioning-workflow.ts';
import type { SecretVault } from './secret-vault.ts';
import type { StationDb } from './station-db.ts';

export interface LocatedDevice {
  client: DeviceClient;
  devicePort?: string;
  /** Done with the device; told how its record was settled. */
  release(outcome?: RecoveryOutcome): Promise<void>;
}

/** Find the device a record belongs to: by its fixture's port, or (simulated) by its serial. */
export type DeviceLocator = (record: {
  fixture: string;
  devicePort?: string;
  hardwareSerial: string;
}) => Promise<LocatedDevice | undefined>;

export type RecoveryOutcome = 'completed' | 'discarded' | 'failed' | 'kept';

export interface RecoveryItem {
  source: 'vault' | 'registry';
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
}

export interface RecoveryContext {
  stationId: string;
  vault: SecretVault;
  db: StationDb;
  audit: AuditSink;
  workflow: ProvisioningWorkflow;
  locate: DeviceLocator;
  operator?: string;
  batchId?: string;
}

interface Target {
  source: 'vault' | 'registry';
  vaultId?: number;
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  devicePort?: string;
  digest: string;
  fingerprint: string;
}

export async function recoverPending(ctx: RecoveryContext): Promise<RecoveryReport> {
  const targets: Target[] = [
    ...ctx.vault.pending().map((r) => ({ source: 'vault' as const, vaultId: r.id, ...pick(r) })),
    ...ctx.db.devicesInState('written').map((r) => ({ source: 'registry' as const, ...pick(r) })),
  ];
  const items: RecoveryItem[] = [];
  for (const t of targets) items.push(await recoverOne(ctx, t));
  const count = (o: RecoveryOutcome) => items.filter((i) => i.outcome === o).length;
  return { items, completed: count('completed'), discarded: count('discarded'), failed: count('failed'), kept: count('kept') };
}

function pick(r: {
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  digest: string;
  fingerprint: string;
  devicePort?: string;
}) {
  return {
    deviceId: r.deviceId,
    hardwareSerial: r.hardwareSerial,
    fixture: r.fixture,
    devicePort: r.devicePort,
    digest: r.digest,
    fingerprint: r.fingerprint,
  };
}

async function recoverOne(ctx: RecoveryContext, t: Target): Promise<RecoveryItem> {
  const item = (outcome: RecoveryOutcome, detail: string, code?: string): RecoveryItem => ({
    source: t.source,
    deviceId: t.deviceId,
    hardwareSerial: t.hardwareSerial,
    fixture: t.fixture,
    outcome,
    code,
    detail,
  });
  const audit = (outcome: AuditEventInput['outcome'], step: string, extra: Partial<AuditEventInput> = {}) =>
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
    });

  let located: LocatedDevice | undefined;
  try {
    located = await ctx.locate(t);
  } catch (e) {
    return item('kept', `device not reachable: ${describeError(e)}`);
  }
  if (!located) return item('kept', 'no fixture or port known for this device');
  let result: RecoveryItem | undefined;
  try {
    result = await settle(ctx, t, located, item, audit);
    return result;
  } finally {
    await located.release(result?.outcome).catch(() => {});
  }
}

async function settle(
  ctx: RecoveryContext,
  t: Target,
  located: LocatedDevice,
  item: (outcome: RecoveryOutcome, detail: string, code?: string) => RecoveryItem,
  audit: (outcome: AuditEventInput['outcome'], step: string, extra?: Partial<AuditEventInput>) => unknown,
): Promise<RecoveryItem> {
  let status: StorageStatus;
  try {
    const identity = await located.client.identity();
    if (identity.hardwareSerial !== t.hardwareSerial) {
      return item('kept', `fixture ${t.fixture} now holds another device (${identity.hardwareSerial})`);
    }
    status = await located.client.storageStatus();
  } catch (e) {
    return item('kept', `device did not answer: ${describeError(e)}`);
  }

  if ((status.state === 'written' || status.state === 'locked') && status.digest === t.digest) {
    // The workflow sees our digest (pending or confirmed) and finishes the device.
    const result = await ctx.workflow.provision({
      fixture: t.fixture,
      devicePort: located.devicePort ?? t.devicePort,
      device: located.client,
      operator: ctx.operator,
      batchId: ctx.batchId,
    });
    if (result.outcome === 'pass') return item('completed', 'device holds the secret: completed');
    // Lock or config failed: the secret is confirmed (registry), the device is finished next time.
    return item('failed', result.failure?.message ?? 'completion failed', result.failure?.code);
  }

  if (status.state === 'empty' && t.source === 'vault') {
    ctx.vault.discard(t.vaultId!);
    audit('info', 'recover', {
      message: 'write-ahead record discarded: the device storage is empty; it will be registered again',
    });
    return item('discarded', 'device storage is empty: record discarded, the device will be registered again');
  }

  const code: FailureCode = status.state === 'torn' ? 'STORAGE_TORN' : 'RECOVERY_MISMATCH';
  if (t.vaultId !== undefined) ctx.vault.discard(t.vaultId);
  else ctx.db.markFailed(t.deviceId);
  const info = failureInfo(code);
  audit('fail', 'recover', { errorCode: code, message: `${info.message} (storage ${status.state})` });
  audit('fail', 'record', { errorCode: code, message: info.message });
  return item('failed', `${info.message} Storage: ${status.state}.`, code);
}
