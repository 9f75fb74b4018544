// What is left to sync, read from the station's own files (no network): registrations the remote has
// not accepted, audit events past its last acknowledgement, the last run and the open conflicts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../db/sqlite.ts';
import { CONFLICT_ADVICE, type SyncSummary } from './sync-client.ts';
import { SyncState, syncStateFile } from './sync-state.ts';

/** Offline batches and sync (issue 6, docs/sync.md). */
export interface SyncConflictView {
  deviceId: string;
  batch?: string;
  reason: string;
  at: string;
  remote: string;
}

export interface SyncStatus {
  /** The remote pairing core synced to (pairing.url); undefined when none is configured. */
  remote?: string;
  /** Registrations of the embedded core the remote has not accepted yet (conflicts included). */
  pendingDevices: number;
  /** The same, per batch (the offline batch each was journalled under), oldest registration first. */
  pendingByBatch?: { batch: string; devices: number; since: string }[];
  /** Audit events past the remote's last acknowledgement. */
  pendingEvents: number;
  lastSync?: { at: string; remote: string; imported: number; alreadyPresent: number; conflicts: number; eventsSent: number };
  /** Devices the remote refused (registered elsewhere, already confirmed): for QA. */
  conflicts: SyncConflictView[];
  /** What QA does about a conflict. */
  advice: string;
}

function readOnly<T>(file: string, read: (db: SqliteDatabase) => T, empty: T): T {
  if (!existsSync(file)) return empty;
  const db = openSqlite(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export function readSyncStatus(opts: { dataDir: string; remoteUrl?: string; realm: string; stationId: string }): SyncStatus {
  const remote = opts.remoteUrl?.replace(/\/+$/, '').replace(/\/v1$/, '');
  const registered = readOnly(
    join(opts.dataDir, 'pairing.sqlite'),
    (db) =>
      db
        .prepare<[string], { device_id: string; secret_hash: string; last_registration_at: string }>(
          'SELECT device_id, secret_hash, last_registration_at FROM devices WHERE realm = ? AND secret_hash IS NOT NULL',
        )
        .all(opts.realm),
    [],
  );
  const lastSeq = readOnly(
    join(opts.dataDir, 'audit.db'),
    (db) => (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0,
    0,
  );
  const noState = !existsSync(syncStateFile(opts.dataDir));
  const state = noState ? undefined : SyncState.open(syncStateFile(opts.dataDir));
  try {
    const acks = state && remote ? state.acks(remote, opts.realm) : new Map();
    const pending = registered.filter((h) => {
      const a = acks.get(h.device_id);
      return a?.secretHash !== h.secret_hash || a.result === 'conflict';
    });
    // Per batch, as the sync will send them (the journal's batch, else the embedded core's own).
    const byBatch = new Map<string, { batch: string; devices: number; since: string }>();
    for (const d of pending) {
      const batch = state?.offlineRegistration(opts.realm, d.device_id)?.batch ?? `embedded-${opts.stationId}`;
      const b = byBatch.get(batch) ?? { batch, devices: 0, since: d.last_registration_at };
      b.devices++;
      if (d.last_registration_at < b.since) b.since = d.last_registration_at;
      byBatch.set(batch, b);
    }
    const pendingByBatch = [...byBatch.values()].sort((x, y) => x.since.localeCompare(y.since));
    if (!state) {
      return {
        remote,
        pendingDevices: pending.length,
        pendingByBatch,
        pendingEvents: lastSeq,
        conflicts: [],
        advice: CONFLICT_ADVICE,
      };
    }
    const acked = remote ? (state.auditAck(remote, opts.realm, opts.stationId)?.seq ?? 0) : 0;
    const run = state.lastRun();
    const s = run?.summary as SyncSummary | undefined;
    return {
      remote,
      pendingDevices: pending.length,
      pendingByBatch,
      pendingEvents: Math.max(0, lastSeq - acked),
      lastSync:
        run && s
          ? {
              at: run.finishedAt,
              remote: run.remote,
              imported: s.devices.imported,
              alreadyPresent: s.devices.alreadyPresent,
              conflicts: s.devices.conflicts,
              eventsSent: s.audit.sent,
            }
          : undefined,
      conflicts: state
        .conflicts()
        .map((c) => ({ deviceId: c.deviceId, batch: c.batch, reason: c.reason, at: c.at, remote: c.remote })),
      advice: CONFLICT_ADVICE,
    };
  } finally {
    state?.close();
  }
}
