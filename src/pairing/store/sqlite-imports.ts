// Offline imports and the central audit on SQLite (migration 006): a chunk, or a station's events,
// in one group-committed write.
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import { type CentralAuditStore, type ChainHead, centralQuerySql } from '../import/central-audit-store.ts';
import {
  type DeviceImportOutcome,
  type DeviceImportResult,
  decideImport,
  type ImportChunk,
  type ImportStore,
  importedDeviceRow,
} from '../import/import-store.ts';
import { emptyDeviceRow } from './rows.ts';
import type { SqliteDeviceRows } from './sqlite-devices.ts';

interface ImportDbRow {
  station: string;
  device_id: string;
  batch: string;
  operator: string | null;
  hardware_serial: string | null;
  registered_at: string;
  result: DeviceImportResult;
  reason: string | null;
}

export function sqliteImportStore(db: SqliteDatabase, rows: SqliteDeviceRows, writer: SqliteWriter): ImportStore {
  const s = {
    // The latest outcome per (station, device); the first time it was seen stays.
    put: db.prepare(
      `INSERT INTO device_imports (realm, station, device_id, batch, operator, hardware_serial, registered_at, secret_hash, result, reason, first_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (realm, station, device_id) DO UPDATE SET batch = excluded.batch, operator = excluded.operator,
         hardware_serial = excluded.hardware_serial, registered_at = excluded.registered_at,
         secret_hash = excluded.secret_hash, result = excluded.result, reason = excluded.reason`,
    ),
    lastHash: db
      .prepare<[string, string, string], string>(
        "SELECT secret_hash FROM device_imports WHERE realm = ? AND station = ? AND device_id = ? AND result = 'imported'",
      )
      .pluck(),
    list: db.prepare<[string, string], ImportDbRow>(
      "SELECT * FROM device_imports WHERE realm = ? AND result = 'conflict' AND station = ? ORDER BY device_id",
    ),
    listAll: db.prepare<[string], ImportDbRow>(
      "SELECT * FROM device_imports WHERE realm = ? AND result = 'conflict' ORDER BY station, device_id",
    ),
  };
  return {
    importDevices: (c: ImportChunk) =>
      writer.write(() => {
        const limit = rows.getRealm(c.realm)?.deviceRegistrationLimit ?? null;
        let known = rows.countDevices(c.realm);
        const out: DeviceImportOutcome[] = [];
        for (const d of c.devices) {
          const existing = rows.getDevice(c.realm, d.deviceId);
          const last = s.lastHash.get(c.realm, c.station, d.deviceId);
          const outcome = decideImport(d, existing, last, limit !== null && known >= limit, limit);
          if (outcome.result === 'imported') {
            if (!existing) known++;
            rows.putDevice(importedDeviceRow(existing ?? emptyDeviceRow(c.realm, d.deviceId), d));
          }
          // A re-sent device already imported keeps `imported` as its record (what QA wants to see).
          s.put.run(
            c.realm,
            c.station,
            d.deviceId,
            c.batch,
            d.operator ?? null,
            d.hardwareSerial ?? null,
            d.registeredAt,
            d.secretHash,
            outcome.result === 'already_present' ? 'imported' : outcome.result,
            outcome.reason ?? null,
            c.at,
          );
          out.push(outcome);
        }
        return out;
      }),
    conflicts: async (realm, station) =>
      (station ? s.list.all(realm, station) : s.listAll.all(realm)).map((r) => ({
        station: r.station,
        deviceId: r.device_id,
        batch: r.batch,
        operator: r.operator ?? undefined,
        hardwareSerial: r.hardware_serial ?? undefined,
        registeredAt: r.registered_at,
        result: r.result,
        reason: r.reason ?? undefined,
      })),
  };
}

export function sqliteCentralAuditStore(db: SqliteDatabase, writer: SqliteWriter): CentralAuditStore {
  const s = {
    head: db.prepare<[string, string], { last_seq: number; last_hash: string }>(
      'SELECT last_seq, last_hash FROM central_audit_heads WHERE realm = ? AND station = ?',
    ),
    hashAt: db
      .prepare<[string, string, number], string>(
        'SELECT hash FROM central_audit_events WHERE realm = ? AND station = ? AND seq = ?',
      )
      .pluck(),
    insert: db.prepare(
      `INSERT INTO central_audit_events (realm, station, seq, hash, body, ts, device_id, hardware_serial, batch_id, operator, step, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    putHead: db.prepare(
      `INSERT INTO central_audit_heads (realm, station, last_seq, last_hash, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (realm, station) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
         updated_at = excluded.updated_at`,
    ),
    heads: db.prepare<[string], { station: string; last_seq: number; last_hash: string }>(
      'SELECT station, last_seq, last_hash FROM central_audit_heads WHERE realm = ? ORDER BY station',
    ),
  };
  const head = (realm: string, station: string): ChainHead | undefined => {
    const h = s.head.get(realm, station);
    return h && { station, lastSeq: h.last_seq, lastHash: h.last_hash };
  };
  type Query = ReturnType<typeof prepareQuery>;
  const prepareQuery = (sql: string) => db.prepare<unknown[], { hash: string; body: string }>(sql);
  const queries = new Map<string, Query>();
  return {
    head: async (realm, station) => head(realm, station),
    heads: async (realm) => s.heads.all(realm).map((h) => ({ station: h.station, lastSeq: h.last_seq, lastHash: h.last_hash })),
    append: (realm, station, _seqs, plan, at) =>
      writer.write(() => {
        const stored = head(realm, station);
        const planned = plan(stored, (seq) => s.hashAt.get(realm, station, seq));
        for (const r of planned.rows)
          s.insert.run(
            realm,
            station,
            r.seq,
            r.hash,
            r.body,
            r.ts,
            r.deviceId,
            r.hardwareSerial,
            r.batchId,
            r.operator,
            r.step,
            r.outcome,
          );
        if (planned.head.lastSeq !== (stored?.lastSeq ?? 0))
          s.putHead.run(realm, station, planned.head.lastSeq, planned.head.lastHash, at);
        return planned.head;
      }),
    query: async (realm, filter) => {
      const { sql, params } = centralQuerySql(realm, filter, () => '?');
      let stmt = queries.get(sql);
      if (!stmt) {
        stmt = prepareQuery(sql);
        queries.set(sql, stmt);
      }
      return stmt.all(...params);
    },
  };
}
