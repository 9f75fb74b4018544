// /sign records on SQLite (migration 005): the check, the certificate, the device row and the
// UUID's record in one group-committed write, with the core's audit event of it (migration 008).
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import {
  type ReopenOutcome,
  type SignOutcome,
  type SignRecord,
  type SignRequest,
  type SignStore,
  signRefusal,
} from '../foundries/sign-store.ts';
import { emptyDeviceRow, type SignDbRow, toSignRecord } from './rows.ts';
import type { SqliteCoreAudit } from './sqlite-core-audit.ts';
import type { SqliteDeviceRows } from './sqlite-devices.ts';

/**
 * /sign's refusal pre-read: [state, signed_at] of the UUID's record (nulls when none), 1 if the device exists.
 * Parameters: realm, device id, realm, UUID.
 */
export const SIGN_REFUSAL_SQL = `SELECT r.state, r.signed_at, EXISTS (SELECT 1 FROM devices WHERE realm = ? AND device_id = ?)
  FROM (SELECT 1) LEFT JOIN sign_registrations r ON r.realm = ? AND r.uuid = ?`;

export function sqliteSignStore(
  db: SqliteDatabase,
  rows: SqliteDeviceRows,
  writer: SqliteWriter,
  audit: SqliteCoreAudit,
): SignStore {
  const s = {
    get: db.prepare<[string, string], SignDbRow>('SELECT * FROM sign_registrations WHERE realm = ? AND uuid = ?'),
    upsert: db.prepare<unknown[], { signings: number }>(
      `INSERT INTO sign_registrations (realm, uuid, device_id, name, hardware_id, certificate_serial, public_key_sha256, signed_at, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'signed')
       ON CONFLICT (realm, uuid) DO UPDATE SET device_id = excluded.device_id, name = excluded.name,
         hardware_id = excluded.hardware_id, certificate_serial = excluded.certificate_serial,
         public_key_sha256 = excluded.public_key_sha256, signed_at = excluded.signed_at, state = 'signed',
         signings = signings + 1
       RETURNING signings`,
    ),
    reopen: db.prepare("UPDATE sign_registrations SET state = 'reopened', reopened_at = ? WHERE realm = ? AND uuid = ?"),
    // What signRefusal reads of both rows, in one statement (one read transaction, so one snapshot even
    // while another process commits), and only the columns it needs: a third of the CPU of the two
    // `SELECT *` reads in a transaction (bench/sign-refusal-read.bench.ts).
    refusal: db.prepare<[string, string, string, string], [string | null, string | null, number]>(SIGN_REFUSAL_SQL).raw(),
  };
  const get = (realm: string, uuid: string) => {
    const r = s.get.get(realm, uuid);
    return r && toSignRecord(r);
  };
  const refusal = (realm: string, uuid: string, deviceId: string) => {
    const [state, signedAt, device] = s.refusal.get(realm, deviceId, realm, uuid) as [string | null, string | null, number];
    const record = state === null ? undefined : { state: state as SignRecord['state'], signedAt: signedAt ?? '' };
    return signRefusal(record, device === 1);
  };
  return {
    get: async (realm, uuid) => get(realm, uuid),
    refusal: async (realm, uuid, deviceId) => refusal(realm, uuid, deviceId),
    sign: (r: SignRequest) =>
      writer.write((): SignOutcome => {
        const device = rows.getDevice(r.realm, r.deviceId);
        const refusal = signRefusal(get(r.realm, r.uuid), device !== undefined);
        if (refusal) return refusal;
        if (!device && rows.atLimit(r.realm)) return { kind: 'limit' };
        const base = device ?? emptyDeviceRow(r.realm, r.deviceId);
        rows.issueCertificate(base, r.serialHex, r.notAfter, r.at);
        rows.putDevice({
          ...base,
          firstRegistrationAt: base.firstRegistrationAt ?? r.at,
          lastRegistrationAt: r.at,
          firstCredentialsRequestAt: base.firstCredentialsRequestAt ?? r.at,
          lastCredentialsRequestAt: r.at,
          certificateSerial: r.serialHex.toLowerCase(),
          certificateNotAfter: r.notAfter,
        });
        const { signings } = s.upsert.get(
          r.realm,
          r.uuid,
          r.deviceId,
          r.name,
          r.hardwareId,
          r.serialHex.toLowerCase(),
          r.publicKeySha256,
          r.at,
        ) as { signings: number };
        if (r.event) audit.sealInWrite(r.event(signings));
        return { kind: 'signed', signings };
      }),
    reopen: (realm, uuid, at) =>
      writer.write((): ReopenOutcome => {
        const record = get(realm, uuid);
        if (!record) return { kind: 'not_found' };
        if (record.state === 'reopened') return { kind: 'already_reopened', reopenedAt: record.reopenedAt };
        s.reopen.run(at, realm, uuid);
        return { kind: 'reopened', record };
      }),
  };
}
