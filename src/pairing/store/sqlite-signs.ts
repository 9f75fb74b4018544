// /sign records on SQLite (migration 005): the check, the certificate, the device row and the
// UUID's record in one group-committed write, with the core's audit event of it (migration 008).
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import { type ReopenOutcome, type SignOutcome, type SignRequest, type SignStore, signRefusal } from '../foundries/sign-store.ts';
import { emptyDeviceRow, type SignDbRow, toSignRecord } from './rows.ts';
import type { SqliteCoreAudit } from './sqlite-core-audit.ts';
import type { SqliteDeviceRows } from './sqlite-devices.ts';

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
  };
  const get = (realm: string, uuid: string) => {
    const r = s.get.get(realm, uuid);
    return r && toSignRecord(r);
  };
  // Both rows in one read transaction: a snapshot even while another process commits.
  const refusal = db.transaction((realm: string, uuid: string, deviceId: string) =>
    signRefusal(get(realm, uuid), rows.getDevice(realm, deviceId) !== undefined),
  );
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
