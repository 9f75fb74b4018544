// Offline imports and the central audit on SQLite (migration 006): a chunk, or a station's events,
// in one group-committed write.
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import { type CentralAuditStore, type ChainHead, centralQuerySql } from '../import/central-audit-store.ts';
import {
  type ConflictDbRow,
  conflictsSql,
  type DeviceImportOutcome,
  decideImport,
  enrolOutcome,
  type ImportChunk,
  type ImportStore,
  importedDeviceRow,
  keepStationRefusal,
  type ResolveOutcome,
  toImportRecord,
} from '../import/import-store.ts';
import { emptyDeviceRow, type StationDbRow, toEnrolledStation } from './rows.ts';
import type { SqliteDeviceRows } from './sqlite-devices.ts';

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
    list: db.prepare<[string, string], ConflictDbRow>(conflictsSql(true, () => '?')),
    listAll: db.prepare<[string], ConflictDbRow>(conflictsSql(false, () => '?')),
    conflict: db.prepare<[string, string, string], ConflictDbRow & { secret_hash: string }>(
      "SELECT * FROM device_imports WHERE realm = ? AND station = ? AND device_id = ? AND result = 'conflict'",
    ),
    setResult: db.prepare('UPDATE device_imports SET result = ?, reason = ? WHERE realm = ? AND station = ? AND device_id = ?'),
    station: db.prepare<[string, string], StationDbRow>('SELECT * FROM enrolled_stations WHERE realm = ? AND station = ?'),
    stations: db.prepare<[string], StationDbRow>('SELECT * FROM enrolled_stations WHERE realm = ? ORDER BY station'),
    enrol: db.prepare('INSERT INTO enrolled_stations (realm, station, public_key, key_id, enrolled_at) VALUES (?, ?, ?, ?, ?)'),
  };
  const station = (realm: string, id: string) => {
    const r = s.station.get(realm, id);
    return r && toEnrolledStation(r);
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
      (station ? s.list.all(realm, station) : s.listAll.all(realm)).map((r) => toImportRecord(r)),
    resolveConflict: (realm, st, deviceId, keep, at) =>
      writer.write((): ResolveOutcome => {
        const row = s.conflict.get(realm, st, deviceId);
        if (!row) return { kind: 'not_found' };
        if (keep === 'core') {
          s.setResult.run('dropped', `resolved ${at}: the core's registration kept`, realm, st, deviceId);
          return { kind: 'kept_core', record: { ...toImportRecord(row), result: 'dropped' } };
        }
        const existing = rows.getDevice(realm, deviceId);
        const limit = rows.getRealm(realm)?.deviceRegistrationLimit ?? null;
        const refusal = keepStationRefusal(existing, limit !== null && rows.countDevices(realm) >= limit);
        if (refusal) return { kind: refusal };
        const d = { deviceId, secretHash: row.secret_hash, registeredAt: row.registered_at };
        rows.putDevice(importedDeviceRow(existing ?? emptyDeviceRow(realm, deviceId), d));
        s.setResult.run('imported', `resolved ${at}: the station's registration kept`, realm, st, deviceId);
        return { kind: 'kept_station', record: { ...toImportRecord(row), result: 'imported' } };
      }),
    enrolStation: (realm, e) =>
      writer.write(() => {
        const existing = station(realm, e.station);
        const kind = enrolOutcome(existing, e.publicKey);
        if (kind === 'enrolled') s.enrol.run(realm, e.station, e.publicKey, e.keyId, e.enrolledAt);
        return { kind, station: existing ?? { ...e, verifiedUpTo: 0 } };
      }),
    station: async (realm, id) => station(realm, id),
    stations: async (realm) => s.stations.all(realm).map(toEnrolledStation),
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
    // Appends are accepted only under the station's enrolled key (central-audit.ts): the verified
    // stretch grows with the chain when it covered it all so far.
    verified: db.prepare(
      'UPDATE enrolled_stations SET verified_up_to = ? WHERE realm = ? AND station = ? AND verified_up_to = ?',
    ),
    events: db.prepare<[string, string, number, number], { hash: string; body: string }>(
      'SELECT hash, body FROM central_audit_events WHERE realm = ? AND station = ? AND seq >= ? ORDER BY seq LIMIT ?',
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
        if (planned.head.lastSeq !== (stored?.lastSeq ?? 0)) {
          s.putHead.run(realm, station, planned.head.lastSeq, planned.head.lastHash, at);
          s.verified.run(planned.head.lastSeq, realm, station, stored?.lastSeq ?? 0);
        }
        return planned.head;
      }),
    events: async (realm, station, fromSeq, limit) => s.events.all(realm, station, fromSeq, limit),
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
