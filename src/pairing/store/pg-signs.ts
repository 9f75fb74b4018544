// /sign records on PostgreSQL: one transaction locks the UUID's record and the device row, checks,
// then writes certificate, device and record. A UUID seen for the first time by two instances at
// once: both insert, the loser's unique violation re-runs its transaction, which finds it signed.
import { constraintOf, inTransaction, type Sql } from '../../db/postgres.ts';
import { type ReopenOutcome, type SignOutcome, type SignStore, signRefusal } from '../foundries/sign-store.ts';
import { LIMIT_CONSTRAINT } from './pg-devices.ts';
import { type DeviceDbRow, type SignDbRow, toSignRecord } from './rows.ts';

export function pgSignStore(sql: Sql): SignStore {
  return {
    get: async (realm, uuid) => {
      const [r] = await sql<SignDbRow[]>`SELECT * FROM sign_registrations WHERE realm = ${realm} AND uuid = ${uuid}`;
      return r && toSignRecord(r);
    },
    sign: async (r): Promise<SignOutcome> => {
      const serial = r.serialHex.toLowerCase();
      try {
        return await inTransaction(
          sql,
          async (tx): Promise<SignOutcome> => {
            // Pipelined in this order on purpose: each statement reads its own snapshot, and a racing /sign
            // writes device and record in one transaction, so a device it committed before our first read
            // has its record visible to the second (never "device exists" for a UUID /sign registered).
            const [[device], [rec]] = await Promise.all([
              tx<DeviceDbRow[]>`SELECT * FROM devices WHERE realm = ${r.realm} AND device_id = ${r.deviceId} FOR UPDATE`,
              tx<SignDbRow[]>`SELECT * FROM sign_registrations WHERE realm = ${r.realm} AND uuid = ${r.uuid} FOR UPDATE`,
            ]);
            const refusal = signRefusal(rec && toSignRecord(rec), device !== undefined);
            if (refusal) return refusal;
            if (device?.certificate_serial)
              await tx`
                UPDATE certificates SET revoked_at = ${r.at}, revocation_reason = 'superseded'
                WHERE serial = ${device.certificate_serial} AND revoked_at IS NULL`;
            await tx`
              INSERT INTO certificates (serial, realm, device_id, issued_at, not_after)
              VALUES (${serial}, ${r.realm}, ${r.deviceId}, ${r.at}, ${r.notAfter})`;
            if (device)
              await tx`
                UPDATE devices SET first_registration_at = coalesce(first_registration_at, ${r.at}), last_registration_at = ${r.at},
                  first_credentials_request_at = coalesce(first_credentials_request_at, ${r.at}),
                  last_credentials_request_at = ${r.at}, certificate_serial = ${serial}, certificate_not_after = ${r.notAfter}
                WHERE realm = ${r.realm} AND device_id = ${r.deviceId}`;
            else
              await tx`
                INSERT INTO devices (realm, device_id, first_registration_at, last_registration_at, first_credentials_request_at,
                  last_credentials_request_at, certificate_serial, certificate_not_after)
                VALUES (${r.realm}, ${r.deviceId}, ${r.at}, ${r.at}, ${r.at}, ${r.at}, ${serial}, ${r.notAfter})`;
            const [{ signings }] = rec
              ? await tx<{ signings: number }[]>`
                  UPDATE sign_registrations SET device_id = ${r.deviceId}, name = ${r.name}, hardware_id = ${r.hardwareId},
                    certificate_serial = ${serial}, public_key_sha256 = ${r.publicKeySha256}, signed_at = ${r.at},
                    state = 'signed', signings = signings + 1
                  WHERE realm = ${r.realm} AND uuid = ${r.uuid} RETURNING signings`
              : await tx<{ signings: number }[]>`
                  INSERT INTO sign_registrations (realm, uuid, device_id, name, hardware_id, certificate_serial, public_key_sha256, signed_at, state)
                  VALUES (${r.realm}, ${r.uuid}, ${r.deviceId}, ${r.name}, ${r.hardwareId}, ${serial}, ${r.publicKeySha256}, ${r.at}, 'signed')
                  RETURNING signings`;
            return { kind: 'signed', signings };
          },
          { retryOn: ['23505'] },
        );
      } catch (e) {
        if (constraintOf(e) === LIMIT_CONSTRAINT) return { kind: 'limit' };
        throw e;
      }
    },
    reopen: (realm, uuid, at) =>
      inTransaction(sql, async (tx): Promise<ReopenOutcome> => {
        const [r] = await tx<SignDbRow[]>`SELECT * FROM sign_registrations WHERE realm = ${realm} AND uuid = ${uuid} FOR UPDATE`;
        if (!r) return { kind: 'not_found' };
        const record = toSignRecord(r);
        if (record.state === 'reopened') return { kind: 'already_reopened', reopenedAt: record.reopenedAt };
        await tx`UPDATE sign_registrations SET state = 'reopened', reopened_at = ${at} WHERE realm = ${realm} AND uuid = ${uuid}`;
        return { kind: 'reopened', record };
      }),
  };
}
