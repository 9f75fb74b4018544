// Realms, devices and certificates on PostgreSQL. Each decision is one statement, so it is atomic
// across instances without a round trip per step: the register upsert re-checks "not confirmed" on
// the row it locks; a new device bumps its realm's count under that row's lock, where a CHECK keeps
// the limit (realm_device_limits); recording credentials locks the device row, compares the secret
// hash and revokes the previous certificate in the same statement. Registrations and credentials
// records are one statement for a whole batch of requests (pg-registrations.ts, pg-credentials.ts).
import type { Sql } from '../../db/postgres.ts';
import type { CertificateStore, DeviceStore, RealmStore, RevocationReason } from '../pairing-store.ts';
import type { PgCredentialsWriter } from './pg-credentials.ts';
import type { PgDeviceReader } from './pg-device-reads.ts';
import type { PgRegistrationWriter } from './pg-registrations.ts';
import { type CertificateDbRow, certificateRow, type RealmDbRow, toRealm } from './rows.ts';

export { LIMIT_CONSTRAINT } from './pg-registrations.ts';

export function pgRealmStore(sql: Sql): RealmStore {
  return {
    list: async () => (await sql<RealmDbRow[]>`SELECT * FROM realms ORDER BY name`).map(toRealm),
    get: async (name) => {
      const [r] = await sql<RealmDbRow[]>`SELECT * FROM realms WHERE name = ${name}`;
      return r && toRealm(r);
    },
    create: async (r) => {
      const rows = await sql`
        INSERT INTO realms (name, public_key_pem, broker_url, device_registration_limit, device_id_namespace, factory, created_at)
        VALUES (${r.name}, ${r.publicKeyPem}, ${r.brokerUrl}, ${r.deviceRegistrationLimit}, ${r.deviceIdNamespace}, ${r.factory}, ${r.createdAt})
        ON CONFLICT (name) DO NOTHING RETURNING 1`;
      return rows.length > 0;
    },
  };
}

export function pgDeviceStore(
  sql: Sql,
  reads: PgDeviceReader,
  credentials: PgCredentialsWriter,
  registrations: PgRegistrationWriter,
): DeviceStore {
  return {
    // Grouped with the reads in flight: one query for many (pg-device-reads.ts).
    get: (realm, deviceId) => reads.get(realm, deviceId),
    count: async (realm) => {
      const [r] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM devices WHERE realm = ${realm}`;
      return r.n;
    },
    // Group-committed: one statement and one commit for the registrations of a batch (pg-registrations.ts).
    register: (r) => registrations.submit(r),
    unregister: async (realm, deviceId) => {
      const rows = await sql`
        UPDATE devices SET secret_hash = NULL, first_credentials_request_at = NULL
        WHERE realm = ${realm} AND device_id = ${deviceId} RETURNING 1`;
      return rows.length > 0;
    },
    setInhibited: async (realm, deviceId, inhibited) => {
      const rows =
        await sql`UPDATE devices SET inhibited = ${inhibited} WHERE realm = ${realm} AND device_id = ${deviceId} RETURNING 1`;
      return rows.length > 0;
    },
    // Group-committed: one statement and one commit for the requests of a batch (pg-credentials.ts).
    recordCredentials: (r) => credentials.submit(r),
  };
}

export function pgCertificateStore(sql: Sql): CertificateStore {
  return {
    get: async (serial) => {
      const [r] = await sql<CertificateDbRow[]>`
        SELECT serial, realm, device_id, issued_at, not_after, revoked_at, revocation_reason
        FROM certificates WHERE serial = ${serial.toLowerCase()}`;
      return r && certificateRow(r);
    },
    isRevoked: async (serial) =>
      (await sql`SELECT 1 FROM certificates WHERE serial = ${serial.toLowerCase()} AND revoked_at IS NOT NULL`).length > 0,
    listRevoked: async () =>
      (
        await sql<{ serial: string; revoked_at: string; revocation_reason: RevocationReason }[]>`
          SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial`
      ).map((r) => ({ serialHex: r.serial, revokedAt: r.revoked_at, reason: r.revocation_reason })),
    // Revocations are never undone, so the count only grows (an index-only scan of the partial index).
    revocationCount: async () => {
      const [r] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM certificates WHERE revoked_at IS NOT NULL`;
      return r.n;
    },
  };
}
