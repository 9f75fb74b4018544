// `imprint station recover` and `imprint station status`: what a crash or an unplug left pending,
// why, and how to settle it (by the device's digest, or by an audited decision).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { offlineFallback } from '../api/pairing-policy.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { Batch } from '../audit/audit-types.ts';
import { createLogger } from '../common/logger.ts';
import { DISCARD_MEANING, SET_ASIDE_MEANING } from '../station/pending-decisions.ts';
import type { RecoveryReport } from '../station/recovery.ts';
import { Station } from '../station/station.ts';
import { loadStationConfig, stationConfigPath } from '../station/station-config.ts';
import { type RegistryRow, StationDb, type VaultRow } from '../station/station-db.ts';
import { readSyncStatus } from '../sync/sync-status.ts';
import { usage } from './cli-errors.ts';
import { resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';
import { agentToken, type CommonOpts } from './station-options.ts';

export interface RecoverOpts extends CommonOpts {
  config?: string;
  agentToken?: string;
  discard?: true | string[];
  setAside?: true | string[];
  all?: boolean;
  operator?: string;
}

const SETTLE_HINT =
  'settle with `imprint station recover --discard ID… --operator NAME` (the device never confirmed the write) ' +
  'or `--set-aside ID…` (confirmed, never finished); `--all` for every one';

export async function recoverCommand(opts: RecoverOpts): Promise<void> {
  const data = resolveDataDir(opts);
  if (opts.discard !== undefined && opts.setAside !== undefined) usage('--discard and --set-aside: one decision at a time');
  const decision = opts.discard !== undefined ? 'discard' : opts.setAside !== undefined ? 'set-aside' : undefined;
  const picked = opts.discard ?? opts.setAside;
  const ids = Array.isArray(picked) ? picked : [];
  if (opts.all && !decision) usage('--all goes with --discard or --set-aside');
  if (decision && !opts.all && ids.length === 0) usage(`--${decision} needs record ids, device ids or serials, or --all`);
  if (decision && opts.all && ids.length > 0) usage(`--${decision}: give ids or --all, not both`);
  const operator = opts.operator ?? process.env.IMPRINT_OPERATOR;
  if (decision && !operator) usage(`--${decision} is an audited decision: name who decides with --operator NAME`);

  const config = opts.config
    ? loadStationConfig(resolve(opts.config), { mustExist: true, dataDir: data })
    : loadStationConfig(stationConfigPath(data));
  const station = await Station.open({
    dataDir: data,
    config,
    agentToken: config.pairing.mode === 'embedded' ? undefined : await agentToken(opts, data),
    offlinePolicy: offlineFallback,
    recoverOnStart: false,
    // A one-shot command: a station fault ends it (exit 6) instead of waiting for the fault to clear.
    waitOnFault: false,
    operator,
    logger: createLogger({ level: process.env.IMPRINT_LOG_LEVEL ?? 'error' }),
  });
  try {
    // The devices are asked first: a decision only ever settles what no device can.
    const report = await station.recover();
    const decided =
      decision && operator && !report.interruptedBy
        ? { kind: decision, operator, ...(await station.decide(decision, { all: opts.all, ids }, operator)) }
        : undefined;
    const left = station.pending();
    const stillPending = left.records.length + left.unfinished.length;
    const unknown = (decided?.unmatched ?? []).filter((id) => !mentions(report, id));
    if (opts.json) {
      const meaning = decided && (decided.kind === 'discard' ? DISCARD_MEANING : SET_ASIDE_MEANING);
      console.log(JSON.stringify({ ...report, decision: decided && { ...decided, unknown, meaning }, stillPending }, null, 2));
    } else {
      printReport(report);
      if (decided) {
        console.log(decided.kind === 'discard' ? DISCARD_MEANING : SET_ASIDE_MEANING);
        const verb = decided.kind === 'discard' ? 'DISCARDED' : 'SET ASIDE';
        for (const s of decided.settled) console.log(`${verb} ${s.id} ${s.hardwareSerial} ${s.deviceId}: ${s.detail}`);
        if (decided.settled.length === 0) console.log(`nothing to ${decided.kind}`);
        for (const id of unknown) console.error(`${id}: ${wrongKind(left, decided.kind, id)}`);
      }
      if (report.interruptedBy) console.error(`stopped by a station fault: ${report.interruptedBy.detail}`);
      if (stillPending) console.log(`still pending: ${stillPending}: ${SETTLE_HINT}`);
    }
    process.exitCode = report.interruptedBy
      ? EXIT.STATION_FAULT
      : unknown.length > 0
        ? EXIT.USAGE
        : stillPending > 0
          ? EXIT.PENDING
          : EXIT.OK;
  } finally {
    await station.close();
  }
}

/** Why an id matched nothing: the other decision is the one that applies to it, or it is not pending. */
function wrongKind(left: { records: VaultRow[]; unfinished: RegistryRow[] }, kind: string, id: string): string {
  const is = (r: { deviceId: string; hardwareSerial: string }) => r.deviceId === id || r.hardwareSerial === id;
  if (kind === 'discard' && left.unfinished.some(is))
    return 'this device confirmed its secret: --discard only gives up secrets no device confirmed; use --set-aside';
  if (kind === 'set-aside' && left.records.some((r) => is(r) || String(r.id) === id))
    return 'this record was never confirmed by its device: use --discard';
  return 'no pending record matches it (imprint station status lists them)';
}

function mentions(report: RecoveryReport, id: string): boolean {
  return report.items.some((i) => i.deviceId === id || i.hardwareSerial === id || String(i.recordId) === id);
}

function printReport(report: RecoveryReport): void {
  if (report.items.length === 0) console.log('nothing to recover: no pending records');
  for (const i of report.items) {
    console.log(
      `${i.outcome.toUpperCase()} ${i.fixture} ${i.hardwareSerial} ${i.deviceId}${i.code ? ` ${i.code}` : ''}: ${i.detail}`,
    );
  }
  if (report.items.length) {
    console.log(
      `completed ${report.completed}, discarded ${report.discarded}, failed ${report.failed}, still pending ${report.kept}`,
    );
  }
}

/** "3 h 12 min" */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const NOT_TRIED =
  'in progress at a running station, or left by one that stopped before the device confirmed: settled at the next start or by `imprint station recover`';

function pendingView(r: VaultRow, now: number) {
  return {
    kind: 'write-ahead' as const,
    id: r.id,
    deviceId: r.deviceId,
    hardwareSerial: r.hardwareSerial,
    fixture: r.fixture,
    devicePort: r.devicePort,
    simulated: r.simulated,
    secretFingerprint: r.fingerprint,
    createdAt: r.createdAt,
    ageSeconds: Math.round((now - Date.parse(r.createdAt)) / 1000),
    why: r.pendingReason ?? NOT_TRIED,
    checkedAt: r.checkedAt,
    settle: 'imprint station recover (asks the device); if no device can answer: --discard',
  };
}

function unfinishedView(r: RegistryRow, now: number) {
  return {
    kind: 'unfinished' as const,
    id: r.deviceId,
    deviceId: r.deviceId,
    hardwareSerial: r.hardwareSerial,
    fixture: r.fixture,
    simulated: r.simulated,
    secretFingerprint: r.fingerprint,
    createdAt: r.writtenAt,
    ageSeconds: Math.round((now - Date.parse(r.writtenAt)) / 1000),
    why: `confirmed the secret but was not locked and configured; ${r.pendingReason ?? NOT_TRIED}`,
    checkedAt: r.checkedAt,
    settle: 'run the device again (the station finishes it), imprint station recover, or --set-aside',
  };
}

export async function statusCommand(opts: CommonOpts): Promise<void> {
  const data = resolveDataDir(opts);
  const dbFile = join(data, 'station.db');
  if (!existsSync(dbFile)) {
    if (opts.json) console.log(JSON.stringify({ dataDir: data, initialised: false, pending: [], unfinished: [] }));
    else console.log(`no station data in ${data}`);
    return;
  }
  const db = StationDb.open(dbFile);
  let batch: Batch | undefined;
  let events: number | undefined;
  try {
    const config = loadStationConfig(stationConfigPath(data));
    // Offline registrations waiting for `imprint sync` (the station's own files, no network).
    const sync = readSyncStatus({
      dataDir: data,
      remoteUrl: config.pairing.url,
      realm: config.realm,
      stationId: config.stationId,
    });
    const offline = { waitingToSync: sync.pendingDevices, byBatch: sync.pendingByBatch ?? [], conflicts: sync.conflicts.length };
    const auditFile = join(data, 'audit.db');
    if (existsSync(auditFile)) {
      const trail = AuditTrail.open({ file: auditFile, stationId: config.stationId, readonly: true });
      try {
        batch = trail.currentBatch();
        events = trail.query({ limit: 1 })[0]?.seq ?? 0;
      } finally {
        trail.close();
      }
    }
    const now = Date.now();
    const pending = db.vaultRecords().map((r) => pendingView(r, now));
    const unfinished = db.devicesInState('written').map((r) => unfinishedView(r, now));
    const devices = db.deviceCounts();
    process.exitCode = pending.length + unfinished.length > 0 ? EXIT.PENDING : EXIT.OK;
    if (opts.json) {
      const out = {
        dataDir: data,
        initialised: true,
        stationId: config.stationId,
        pending,
        unfinished,
        devices,
        offline,
        auditEvents: events,
        openBatch: batch,
      };
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    console.log(`data: ${data}`);
    console.log(
      `station: ${config.stationId}, realm ${config.realm}, pairing ${config.pairing.mode}${config.pairing.url ? ` ${config.pairing.url}` : ''}`,
    );
    console.log(`pending write-ahead records (the device never confirmed the write): ${pending.length}`);
    for (const p of pending) {
      console.log(
        `  ${p.id}  ${p.fixture}  ${p.hardwareSerial}  ${p.deviceId}  ${formatAge(p.ageSeconds * 1000)} old${p.simulated ? ' (simulated)' : ''}\n      why: ${p.why}`,
      );
    }
    console.log(`devices confirmed but not finished: ${unfinished.length}`);
    for (const u of unfinished) {
      console.log(
        `  ${u.fixture}  ${u.hardwareSerial}  ${u.deviceId}  ${formatAge(u.ageSeconds * 1000)} old${u.simulated ? ' (simulated)' : ''}\n      why: ${u.why}`,
      );
    }
    console.log(
      `devices: provisioned ${devices.provisioned}, written (to finish) ${devices.written}, failed (QA) ${devices.failed}`,
    );
    console.log(
      `offline: ${offline.waitingToSync} device(s) waiting to sync${offline.byBatch.length ? ` in ${offline.byBatch.length} batch(es)` : ''}${offline.conflicts ? `, ${offline.conflicts} conflict(s)` : ''}${offline.waitingToSync ? ' (imprint sync status lists them)' : ''}`,
    );
    if (events !== undefined) console.log(`audit events: ${events}`);
    console.log(`open batch: ${batch ? `${batch.id} (work order ${batch.workOrder}, operator ${batch.operator})` : 'none'}`);
    if (pending.length + unfinished.length > 0) {
      console.log(`to settle: imprint station recover asks each device first; what no device can settle: ${SETTLE_HINT}`);
    }
  } finally {
    db.close();
  }
}
