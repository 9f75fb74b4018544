// Offline imports and the central audit on PostgreSQL, one transaction each. An import locks its
// realm's limit row (when it has a limit) and the chunk's known device rows (in id order, so two
// chunks never deadlock); a chain append locks the station's head row. New rows that two instances
// insert at once (a device, a station's first events) end in a unique violation for the loser, whose
// transaction re-runs and then sees the winner's rows.
import { constraintOf, inTransaction, type Sql } from '../../db/postgres.ts';
import { type CentralAuditStore, type CentralEventRow, type ChainHead, centralQuerySql } from '../import/central-audit-store.ts';
import {
  type ConflictDbRow,
  conflictsSql,
  type DeviceImportOutcome,
  decideImport,
  enrolOutcome,
  type ImportStore,
  importedDeviceRow,
  keepStationRefusal,
  type ResolveOutcome,
  toImportRecord,
} from '../import/import-store.ts';
import { LIMIT_CONSTRAINT } from './pg-devices.ts';
import { type DeviceDbRow, emptyDeviceRow, type StationDbRow, toDevice, toEnrolledStation } from './rows.ts';

export function pgImportStore(sql: Sql): ImportStore {
  return {
    importDevices: (c) =>
      inTransaction(
        sql,
        async (tx) => {
          const ids = c.devices.map((d) => d.deviceId);
          const [[lim], rows, imported] = await Promise.all([
            tx<{ device_limit: number; devices: number }[]>`
              SELECT device_limit, devices FROM realm_device_limits WHERE realm = ${c.realm} FOR UPDATE`,
            tx<DeviceDbRow[]>`
              SELECT * FROM devices WHERE realm = ${c.realm} AND device_id = ANY(${ids}::text[]) ORDER BY device_id FOR UPDATE`,
            tx<{ device_id: string; secret_hash: string }[]>`
              SELECT device_id, secret_hash FROM device_imports
              WHERE realm = ${c.realm} AND station = ${c.station} AND device_id = ANY(${ids}::text[]) AND result = 'imported'`,
          ]);
          const existing = new Map(rows.map((r) => [r.device_id, toDevice(r)]));
          const lastHash = new Map(imported.map((r) => [r.device_id, r.secret_hash]));
          const limit = lim?.device_limit ?? null;
          let known = lim?.devices ?? 0;
          const out: DeviceImportOutcome[] = [];
          const writes: Promise<unknown>[] = [];
          for (const d of c.devices) {
            const before = existing.get(d.deviceId);
            const outcome = decideImport(d, before, lastHash.get(d.deviceId), limit !== null && known >= limit, limit);
            if (outcome.result === 'imported') {
              const row = importedDeviceRow(before ?? emptyDeviceRow(c.realm, d.deviceId), d);
              if (!before) known++;
              writes.push(
                before
                  ? tx`UPDATE devices SET secret_hash = ${row.secretHash}, inhibited = false,
                         first_registration_at = ${row.firstRegistrationAt}, last_registration_at = ${row.lastRegistrationAt}
                       WHERE realm = ${c.realm} AND device_id = ${d.deviceId}`
                  : tx`INSERT INTO devices (realm, device_id, secret_hash, first_registration_at, last_registration_at)
                       VALUES (${c.realm}, ${d.deviceId}, ${row.secretHash}, ${row.firstRegistrationAt}, ${row.lastRegistrationAt})`,
              );
            }
            const result = outcome.result === 'already_present' ? 'imported' : outcome.result;
            writes.push(tx`
              INSERT INTO device_imports (realm, station, device_id, batch, operator, hardware_serial, registered_at, secret_hash,
                result, reason, first_seen_at)
              VALUES (${c.realm}, ${c.station}, ${d.deviceId}, ${c.batch}, ${d.operator ?? null}, ${d.hardwareSerial ?? null},
                ${d.registeredAt}, ${d.secretHash}, ${result}, ${outcome.reason ?? null}, ${c.at})
              ON CONFLICT (realm, station, device_id) DO UPDATE SET batch = excluded.batch, operator = excluded.operator,
                hardware_serial = excluded.hardware_serial, registered_at = excluded.registered_at,
                secret_hash = excluded.secret_hash, result = excluded.result, reason = excluded.reason`);
            out.push(outcome);
          }
          // Pipelined on the transaction's connection; the first failure aborts the transaction.
          await Promise.all(writes);
          return out;
        },
        { retryOn: ['23505'] },
      ),
    conflicts: async (realm, station) => {
      const rows = await sql.unsafe<ConflictDbRow[]>(
        conflictsSql(station !== undefined, (n) => `$${n}`),
        station !== undefined ? [realm, station] : [realm],
        { prepare: true },
      );
      return rows.map((r) => toImportRecord(r));
    },
    resolveConflict: async (realm, station, deviceId, keep, at) => {
      try {
        return await inTransaction(
          sql,
          async (tx): Promise<ResolveOutcome> => {
            // The device first (as every writer of a device row locks it), then the import row.
            const [[device], [row]] = await Promise.all([
              tx<DeviceDbRow[]>`SELECT * FROM devices WHERE realm = ${realm} AND device_id = ${deviceId} FOR UPDATE`,
              tx<(ConflictDbRow & { secret_hash: string })[]>`
                SELECT * FROM device_imports WHERE realm = ${realm} AND station = ${station} AND device_id = ${deviceId}
                  AND result = 'conflict' FOR UPDATE`,
            ]);
            if (!row) return { kind: 'not_found' };
            if (keep === 'core') {
              await tx`UPDATE device_imports SET result = 'dropped', reason = ${`resolved ${at}: the core's registration kept`}
                       WHERE realm = ${realm} AND station = ${station} AND device_id = ${deviceId}`;
              return { kind: 'kept_core', record: { ...toImportRecord(row), result: 'dropped' } };
            }
            // A new device row bumps the realm's count, whose CHECK refuses it beyond the limit (caught below).
            const refusal = keepStationRefusal(device && toDevice(device), false);
            if (refusal) return { kind: refusal };
            const d = { deviceId, secretHash: row.secret_hash, registeredAt: row.registered_at };
            const next = importedDeviceRow(device ? toDevice(device) : emptyDeviceRow(realm, deviceId), d);
            if (device)
              await tx`UPDATE devices SET secret_hash = ${next.secretHash}, inhibited = false,
                         first_registration_at = ${next.firstRegistrationAt}, last_registration_at = ${next.lastRegistrationAt}
                       WHERE realm = ${realm} AND device_id = ${deviceId}`;
            else
              await tx`INSERT INTO devices (realm, device_id, secret_hash, first_registration_at, last_registration_at)
                       VALUES (${realm}, ${deviceId}, ${next.secretHash}, ${next.firstRegistrationAt}, ${next.lastRegistrationAt})`;
            await tx`UPDATE device_imports SET result = 'imported', reason = ${`resolved ${at}: the station's registration kept`}
                     WHERE realm = ${realm} AND station = ${station} AND device_id = ${deviceId}`;
            return { kind: 'kept_station', record: { ...toImportRecord(row), result: 'imported' } };
          },
          { retryOn: ['23505'] },
        );
      } catch (e) {
        if (constraintOf(e) === LIMIT_CONSTRAINT) return { kind: 'limit' };
        throw e;
      }
    },
    enrolStation: async (realm, e) => {
      // Insert-or-read in one statement: two instances enrolling one station at once both see one row.
      const [inserted] = await sql<StationDbRow[]>`
        INSERT INTO enrolled_stations (realm, station, public_key, key_id, enrolled_at)
        VALUES (${realm}, ${e.station}, ${e.publicKey}, ${e.keyId}, ${e.enrolledAt})
        ON CONFLICT (realm, station) DO NOTHING RETURNING *`;
      if (inserted) return { kind: 'enrolled', station: toEnrolledStation(inserted) };
      const [r] = await sql<StationDbRow[]>`SELECT * FROM enrolled_stations WHERE realm = ${realm} AND station = ${e.station}`;
      const existing = toEnrolledStation(r);
      return { kind: enrolOutcome(existing, e.publicKey), station: existing };
    },
    station: async (realm, station) => {
      const [r] = await sql<StationDbRow[]>`SELECT * FROM enrolled_stations WHERE realm = ${realm} AND station = ${station}`;
      return r && toEnrolledStation(r);
    },
    stations: async (realm) =>
      (await sql<StationDbRow[]>`SELECT * FROM enrolled_stations WHERE realm = ${realm} ORDER BY station`).map(toEnrolledStation),
  };
}

/** Rows per multi-row INSERT: 12 columns each, under PostgreSQL's 65,535 parameters. */
const EVENT_ROWS_PER_INSERT = 2000;

export function pgCentralAuditStore(sql: Sql): CentralAuditStore {
  const headOf = async (q: Sql, realm: string, station: string, lock: boolean): Promise<ChainHead | undefined> => {
    const [h] = lock
      ? await q<{ last_seq: number; last_hash: string }[]>`
          SELECT last_seq, last_hash FROM central_audit_heads WHERE realm = ${realm} AND station = ${station} FOR UPDATE`
      : await q<{ last_seq: number; last_hash: string }[]>`
          SELECT last_seq, last_hash FROM central_audit_heads WHERE realm = ${realm} AND station = ${station}`;
    return h && { station, lastSeq: h.last_seq, lastHash: h.last_hash };
  };
  return {
    head: (realm, station) => headOf(sql, realm, station, false),
    heads: async (realm) =>
      (
        await sql<{ station: string; last_seq: number; last_hash: string }[]>`
          SELECT station, last_seq, last_hash FROM central_audit_heads WHERE realm = ${realm} ORDER BY station`
      ).map((h) => ({ station: h.station, lastSeq: h.last_seq, lastHash: h.last_hash })),
    append: (realm, station, seqs, plan, at) =>
      inTransaction(
        sql,
        async (tx) => {
          const stored = await headOf(tx as unknown as Sql, realm, station, true);
          const resent = stored ? seqs.filter((s) => Number.isSafeInteger(s) && s >= 1 && s <= stored.lastSeq) : [];
          const hashes = new Map<number, string>();
          if (resent.length > 0) {
            const rows = await tx<{ seq: number; hash: string }[]>`
              SELECT seq, hash FROM central_audit_events WHERE realm = ${realm} AND station = ${station} AND seq = ANY(${resent}::bigint[])`;
            for (const r of rows) hashes.set(r.seq, r.hash);
          }
          const planned = plan(stored, (seq) => hashes.get(seq));
          for (let i = 0; i < planned.rows.length; i += EVENT_ROWS_PER_INSERT) {
            const chunk = planned.rows.slice(i, i + EVENT_ROWS_PER_INSERT).map((r: CentralEventRow) => ({
              realm,
              station,
              seq: r.seq,
              hash: r.hash,
              body: r.body,
              ts: r.ts,
              device_id: r.deviceId,
              hardware_serial: r.hardwareSerial,
              batch_id: r.batchId,
              operator: r.operator,
              step: r.step,
              outcome: r.outcome,
            }));
            await tx`INSERT INTO central_audit_events ${tx(chunk)}`;
          }
          if (planned.head.lastSeq !== (stored?.lastSeq ?? 0)) {
            await tx`
              INSERT INTO central_audit_heads (realm, station, last_seq, last_hash, updated_at)
              VALUES (${realm}, ${station}, ${planned.head.lastSeq}, ${planned.head.lastHash}, ${at})
              ON CONFLICT (realm, station) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
                updated_at = excluded.updated_at`;
            // Appends are accepted only under the station's enrolled key (central-audit.ts).
            await tx`
              UPDATE enrolled_stations SET verified_up_to = ${planned.head.lastSeq}
              WHERE realm = ${realm} AND station = ${station} AND verified_up_to = ${stored?.lastSeq ?? 0}`;
          }
          return planned.head;
        },
        { retryOn: ['23505'] },
      ),
    events: async (realm, station, fromSeq, limit) =>
      sql<{ hash: string; body: string }[]>`
        SELECT hash, body FROM central_audit_events WHERE realm = ${realm} AND station = ${station} AND seq >= ${fromSeq}
        ORDER BY seq LIMIT ${limit}`,
    query: async (realm, filter) => {
      const { sql: text, params } = centralQuerySql(realm, filter, (n) => `$${n}`);
      const rows = await sql.unsafe<{ hash: string; body: string }[]>(text, params, { prepare: true });
      return rows.map((r) => ({ hash: r.hash, body: r.body }));
    },
  };
}
