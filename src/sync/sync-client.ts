// `imprint sync`: push a station's offline registrations (device id + secret hash from its embedded
// core, batch and operator from the journal; never a secret) and its audit events not yet held by
// the remote core, in chunks. Resumable at any point: device results are acknowledged per chunk in
// <data>/sync.db, and the audit resumes from what the remote says it holds of this station's chain.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { eventFromEntry } from '../audit/audit-canonical.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
import { openSqlite, type SqliteDatabase } from '../db/sqlite.ts';
import type { DeviceImportResult } from '../pairing/import/import-service.ts';
import { type RemoteAnswer, type RemoteTarget, refusal, remoteBaseOf, remoteRequest } from './remote-request.ts';
import { SCOPES } from './station-enrolment.ts';
import { stationSerials } from './station-registry.ts';
import { SyncError } from './sync-errors.ts';
import { SyncState, syncStateFile } from './sync-state.ts';

export interface SyncOptions {
  dataDir: string;
  remoteUrl: string;
  agentToken: string;
  realm: string;
  stationId: string;
  /** Devices per import request (default 1000) and events per audit request (default 5000). */
  deviceChunk?: number;
  eventChunk?: number;
  /** Per request, default 30 s. */
  timeoutMs?: number;
  /** Device import requests in flight at once (default 2); audit chunks always go one after another. */
  concurrency?: number;
  onProgress?: (p: SyncProgress) => void;
}

export interface SyncProgress {
  phase: 'devices' | 'audit';
  done: number;
  total: number;
}

export interface SyncConflictReport {
  deviceId: string;
  hardwareSerial?: string;
  batch?: string;
  reason: string;
}

export interface SyncSummary {
  remote: string;
  realm: string;
  station: string;
  devices: { pending: number; imported: number; alreadyPresent: number; conflicts: number };
  conflicts: SyncConflictReport[];
  audit: { sent: number; acceptedUpTo: number; localLastSeq: number };
  finishedAt: string;
}

/** What a QA person does about a conflict (printed by the CLI and shown in the UI). */
export const CONFLICT_ADVICE =
  'The remote core kept its own registration; nothing was overwritten. Check the device: if it holds the secret this station wrote, ' +
  "run imprint sync resolve DEVICE --keep station (the core takes the station's registration, while the device has not obtained credentials); " +
  'otherwise run imprint sync resolve DEVICE --keep core and re-provision the device online. The token needs POST::agent/imports/conflicts/.*.';

interface SourceDevice {
  deviceId: string;
  secretHash: string;
  registeredAt: string;
}

/** Registrations in the station's embedded core (`<data>/pairing.sqlite`), read-only. */
function readEmbeddedDevices(dataDir: string, realm: string): SourceDevice[] {
  const file = join(dataDir, 'pairing.sqlite');
  if (!existsSync(file)) return [];
  const db = openSqlite(file, { readonly: true });
  try {
    return db
      .prepare<[string], { device_id: string; secret_hash: string; last_registration_at: string }>(
        `SELECT device_id, secret_hash, last_registration_at FROM devices
         WHERE realm = ? AND secret_hash IS NOT NULL ORDER BY last_registration_at, device_id`,
      )
      .all(realm)
      .map((r) => ({ deviceId: r.device_id, secretHash: r.secret_hash, registeredAt: r.last_registration_at }));
  } finally {
    db.close();
  }
}

/** Reads the station's own trail (`<data>/audit.db`) in seq order, read-only, a chunk at a time. */
class StationTrailReader {
  readonly #db: SqliteDatabase | undefined;
  readonly #page: Statement<[number, number], string> | undefined;
  readonly lastSeq: number;

  constructor(dataDir: string) {
    const file = join(dataDir, 'audit.db');
    if (!existsSync(file)) {
      this.lastSeq = 0;
      return;
    }
    this.#db = openSqlite(file, { readonly: true });
    this.#page = this.#db
      .prepare<[number, number], string>('SELECT entry FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
      .pluck();
    this.lastSeq = (this.#db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
  }

  after(seq: number, limit: number): AuditEvent[] {
    return this.#page ? this.#page.all(seq, limit).map(eventFromEntry) : [];
  }

  hashAt(seq: number): string | undefined {
    const e = this.after(seq - 1, 1)[0];
    return e?.seq === seq ? e.hash : undefined;
  }

  close(): void {
    this.#db?.close();
  }
}

export class SyncClient {
  readonly #o: Required<Omit<SyncOptions, 'onProgress'>> & Pick<SyncOptions, 'onProgress'>;
  readonly #base: string;

  constructor(opts: SyncOptions) {
    this.#base = remoteBaseOf(opts.remoteUrl);
    this.#o = { deviceChunk: 1000, eventChunk: 5000, timeoutMs: 30_000, concurrency: 2, ...opts };
  }

  #target(): RemoteTarget {
    return { remoteUrl: this.#base, agentToken: this.#o.agentToken, realm: this.#o.realm, timeoutMs: this.#o.timeoutMs };
  }

  #request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<RemoteAnswer> {
    return remoteRequest(this.#target(), method, path, body);
  }

  #refused(what: string, a: RemoteAnswer): SyncError {
    return refusal(this.#target(), what, a, SCOPES.sync);
  }

  async run(): Promise<SyncSummary> {
    const o = this.#o;
    const state = SyncState.open(syncStateFile(o.dataDir));
    const trail = new StationTrailReader(o.dataDir);
    try {
      const devices = await this.#syncDevices(state);
      const audit = await this.#syncAudit(state, trail);
      const summary: SyncSummary = {
        remote: this.#base,
        realm: o.realm,
        station: o.stationId,
        devices: devices.counts,
        conflicts: devices.conflicts,
        audit,
        finishedAt: new Date().toISOString(),
      };
      state.recordRun(this.#base, o.realm, summary.finishedAt, summary);
      return summary;
    } finally {
      trail.close();
      state.close();
    }
  }

  async #syncDevices(state: SyncState) {
    const o = this.#o;
    const acked = state.acks(this.#base, o.realm);
    // Pending: a registration whose current hash this remote has not accepted yet. Conflicts are sent
    // again each time: once QA resolved one on the remote, the next sync imports the device.
    const pending = readEmbeddedDevices(o.dataDir, o.realm).filter((d) => {
      const a = acked.get(d.deviceId);
      return a?.secretHash !== d.secretHash || a.result === 'conflict';
    });
    const counts = { pending: pending.length, imported: 0, alreadyPresent: 0, conflicts: 0 };
    const conflicts: SyncConflictReport[] = [];
    // Grouped by batch: one import request never mixes two batches.
    const byBatch = new Map<string, (SourceDevice & { operator?: string; hardwareSerial?: string })[]>();
    // Import rows keep the hardware serial: the journal's, else the station's own registry.
    const serials = pending.length ? stationSerials(o.dataDir) : new Map<string, string>();
    for (const d of pending) {
      const j = state.offlineRegistration(o.realm, d.deviceId);
      const batch = j?.batch ?? `embedded-${o.stationId}`;
      const list = byBatch.get(batch) ?? [];
      list.push({ ...d, operator: j?.operator, hardwareSerial: j?.hardwareSerial ?? serials.get(d.deviceId) });
      byBatch.set(batch, list);
    }
    const jobs: { batch: string; chunk: (SourceDevice & { operator?: string; hardwareSerial?: string })[] }[] = [];
    for (const [batch, list] of byBatch) {
      for (let i = 0; i < list.length; i += o.deviceChunk) jobs.push({ batch, chunk: list.slice(i, i + o.deviceChunk) });
    }
    let done = 0;
    o.onProgress?.({ phase: 'devices', done, total: pending.length });
    const sendChunk = async ({ batch, chunk }: (typeof jobs)[number]) => {
      const a = await this.#request('POST', 'agent/imports/devices', {
        data: {
          station: o.stationId,
          batch,
          devices: chunk.map((d) => ({
            device_id: d.deviceId,
            secret_hash: d.secretHash,
            registered_at: d.registeredAt,
            ...(d.operator ? { operator: d.operator } : {}),
            ...(d.hardwareSerial ? { hardware_serial: d.hardwareSerial } : {}),
          })),
        },
      });
      if (a.status !== 200) throw this.#refused(`the devices of batch ${batch}`, a);
      const data = a.body?.data as { results: { device_id: string; result: DeviceImportResult; reason?: string }[] } | undefined;
      const results = data?.results ?? [];
      const hashOf = new Map(chunk.map((d) => [d.deviceId, d.secretHash]));
      state.recordAcks(
        this.#base,
        o.realm,
        results.map((r) => ({
          deviceId: r.device_id,
          secretHash: hashOf.get(r.device_id) ?? '',
          result: r.result,
          reason: r.reason,
        })),
        new Date().toISOString(),
      );
      for (const r of results) {
        if (r.result === 'imported') counts.imported++;
        else if (r.result === 'already_present') counts.alreadyPresent++;
        else {
          counts.conflicts++;
          const hardwareSerial = chunk.find((d) => d.deviceId === r.device_id)?.hardwareSerial;
          conflicts.push({ deviceId: r.device_id, hardwareSerial, batch, reason: r.reason ?? 'conflict' });
        }
      }
      done += chunk.length;
      o.onProgress?.({ phase: 'devices', done, total: pending.length });
    };
    // Device chunks are independent (each device in one chunk): a few in flight keep both ends busy.
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) await sendChunk(jobs[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, worker));
    conflicts.sort((x, y) => x.deviceId.localeCompare(y.deviceId));
    return { counts, conflicts };
  }

  async #syncAudit(state: SyncState, trail: StationTrailReader) {
    const o = this.#o;
    const headAnswer = await this.#request('GET', `agent/imports/audit/${encodeURIComponent(o.stationId)}`);
    if (headAnswer.status !== 200) throw this.#refused("this station's chain head", headAnswer);
    const head = headAnswer.body?.data as { accepted_up_to: number; last_hash: string };
    let cursor = head.accepted_up_to;
    if (cursor > trail.lastSeq || (cursor > 0 && trail.hashAt(cursor) !== head.last_hash)) {
      throw new SyncError(
        'SYNC_CHAIN_MISMATCH',
        `station ${o.stationId}, up to event ${cursor}; realm ${o.realm} at ${this.#base}`,
      );
    }
    const start = cursor;
    const total = trail.lastSeq - start;
    o.onProgress?.({ phase: 'audit', done: 0, total });
    for (;;) {
      const events = trail.after(cursor, o.eventChunk);
      if (events.length === 0) break;
      const a = await this.#request('POST', 'agent/imports/audit', { data: { station: o.stationId, events } });
      if (a.status !== 200) {
        const seq = a.body?.errors?.seq;
        if (typeof seq === 'number') {
          throw new SyncError('SYNC_CHAIN_REFUSED', `at event ${seq}: ${String(a.body?.errors?.detail ?? '')}`, {
            details: { seq, status: a.status },
          });
        }
        throw this.#refused('audit events', a);
      }
      const d = a.body?.data as { accepted_up_to: number; last_hash: string };
      cursor = d.accepted_up_to;
      state.recordAuditAck(this.#base, o.realm, o.stationId, cursor, d.last_hash, new Date().toISOString());
      o.onProgress?.({ phase: 'audit', done: cursor - start, total });
    }
    return { sent: cursor - start, acceptedUpTo: cursor, localLastSeq: trail.lastSeq };
  }
}

/** Conflicts recorded by earlier syncs (for `imprint sync conflicts` and the UI). */
export function recordedConflicts(dataDir: string) {
  if (!existsSync(syncStateFile(dataDir))) return [];
  const state = SyncState.open(syncStateFile(dataDir));
  try {
    return state.conflicts();
  } finally {
    state.close();
  }
}
