// Decisions that settle what no device can settle any more, each audited with who decided and why:
// - discard a write-ahead record whose device never confirmed the write (an operator's
//   `station recover --discard`, or the station itself when a simulated device is gone);
// - set aside a device that confirmed its secret but left before it was locked and configured
//   (`station recover --set-aside`, or by itself for a simulated device that is gone).
// Before a discard the pairing core is asked, with the sealed secret, whether it still holds that
// registration unused: then it is unregistered, so the secret is dead wherever it ended up. A
// registration the device has already used is left alone (the device holds it and is live).
import type { AuditEventInput } from '../audit/audit-types.ts';
import { describeError, ImprintError } from '../common/errors.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import { failureInfo } from './failure-codes.ts';
import type { LineGate } from './line-gate.ts';
import type { AuditSink } from './provisioning-workflow.ts';
import type { SecretVault } from './secret-vault.ts';
import type { RegistryRow, StationDb, VaultRow } from './station-db.ts';

export interface DecisionContext {
  stationId: string;
  vault: SecretVault;
  db: StationDb;
  audit: AuditSink;
  pairing: PairingClient;
  /** The realm of records older than the realm column (station.db migration 2). */
  realm: string;
  line: LineGate;
  batchId?: string;
}

export interface DecidedBy {
  operator: string;
  reason: string;
  /** The station decided by itself (a simulated device that is gone). */
  automatic: boolean;
}

/** What became of the core registration of a discarded record. */
export type CoreOutcome = 'unregistered' | 'in-use' | 'not-held' | 'left-pending';

export interface Decision {
  detail: string;
  core?: CoreOutcome;
}

/** What a discard means, for the operator (printed by `station recover --discard`). */
export const DISCARD_MEANING =
  'Discarding gives the pending secret up: its sealed copy is wiped and, when the pairing core still holds ' +
  'it unused, the registration is removed (unregistered) so the secret is dead wherever it went. Run the ' +
  'device again to provision it afresh; if it turns out to hold the discarded secret after all it shows ' +
  'UNKNOWN_SECRET: set it aside for QA.';

/** What setting aside means, for the operator (printed by `station recover --set-aside`). */
export const SET_ASIDE_MEANING =
  'Setting aside gives up finishing a device that holds its confirmed secret but was never locked and ' +
  'configured: it is recorded as failed (DEVICE_GONE) and its registration stays in the core. If the device ' +
  'turns up, give it to QA with its serial.';

export async function discardPending(ctx: DecisionContext, record: VaultRow, by: DecidedBy): Promise<Decision> {
  const realm = record.realm ?? ctx.realm;
  const core = await releaseRegistration(ctx, realm, record);
  const coreText = {
    unregistered: 'the core registration was removed (unregistered)',
    'in-use': 'the core says the device already used this secret: its registration is left in place',
    'not-held': 'the core no longer holds this secret (registered again or removed since)',
    'left-pending': 'the core could not be asked: its registration is left pending (harmless until first use)',
  }[core.outcome];
  const detail = `write-ahead record discarded (${by.reason}): ${coreText}`;
  // The trail first, then the wipe: a crash in between leaves the record to decide again.
  await appendDecision(ctx, record, by, {
    step: 'recover',
    outcome: 'info',
    message: `${detail}; decided by ${by.automatic ? 'the station' : by.operator}`,
    data: { decision: 'discard', decidedBy: by.operator, automatic: by.automatic, core: core.outcome, ...core.why },
  });
  await ctx.line.guard('vault', () => ctx.vault.discard(record.id));
  return { detail, core: core.outcome };
}

export async function setAsideDevice(ctx: DecisionContext, device: RegistryRow, by: DecidedBy): Promise<Decision> {
  const info = failureInfo('DEVICE_GONE');
  const detail = `set aside (${by.reason}): ${info.message}`;
  const data = { decision: 'set-aside', decidedBy: by.operator, automatic: by.automatic };
  await appendDecision(ctx, device, by, { step: 'recover', outcome: 'fail', errorCode: 'DEVICE_GONE', message: detail, data });
  await appendDecision(ctx, device, by, { step: 'record', outcome: 'fail', errorCode: 'DEVICE_GONE', message: info.message });
  await ctx.line.guard('registry', () => ctx.db.markFailed(device.deviceId));
  return { detail };
}

/** Ask the core, with the sealed secret, whether it still holds this registration unused; if so remove it. */
async function releaseRegistration(
  ctx: DecisionContext,
  realm: string,
  record: VaultRow,
): Promise<{ outcome: CoreOutcome; why?: Record<string, string> }> {
  let secret: string;
  try {
    secret = ctx.vault.reveal(record);
  } catch (e) {
    return { outcome: 'left-pending', why: { coreError: describeError(e) } };
  }
  try {
    const info = await ctx.pairing.getInfo(realm, record.deviceId, secret);
    if (info.status !== 'pending') return { outcome: 'in-use', why: { coreStatus: info.status } };
    await ctx.pairing.unregisterDevice(realm, record.deviceId);
    return { outcome: 'unregistered' };
  } catch (e) {
    const code = e instanceof ImprintError ? e.code : undefined;
    if (code === 'FORBIDDEN' || code === 'DEVICE_NOT_FOUND') return { outcome: 'not-held' };
    return { outcome: 'left-pending', why: { coreError: describeError(e).slice(0, 200) } };
  }
}

function appendDecision(
  ctx: DecisionContext,
  row: VaultRow | RegistryRow,
  by: DecidedBy,
  event: Pick<AuditEventInput, 'step' | 'outcome' | 'errorCode' | 'message' | 'data'>,
): Promise<unknown> {
  return ctx.line.guard('audit', () =>
    ctx.audit.append({
      station: ctx.stationId,
      operator: by.operator,
      fixture: row.fixture,
      batchId: ctx.batchId,
      deviceId: row.deviceId,
      hardwareSerial: row.hardwareSerial,
      secretFingerprint: row.fingerprint,
      ...event,
    }),
  );
}
