// Realms, devices and certificates on SQLite. Every decision runs inside one group-committed write
// (sync, single writer), so concurrent requests behave as if serial; reads are single prepared
// statements. `SqliteDeviceRows` is shared with the other SQLite features (claims, /sign, imports),
// whose writes touch device rows in the same transaction.
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import type {
  CertificateRow,
  CertificateStore,
  CredentialsOutcome,
  CredentialsRecord,
  DeviceRow,
  DeviceStore,
  RealmRow,
  RealmStore,
  RegisterOutcome,
  RegisterRequest,
  RevocationReason,
  RevokedCertificateRow,
} from '../pairing-store.ts';
import {
  type CertificateDbRow,
  certificateRow,
  type DeviceDbRow,
  emptyDeviceRow,
  type RealmDbRow,
  toDevice,
  toRealm,
} from './rows.ts';
import { DeviceRowCache } from './sqlite-device-cache.ts';

/** Synchronous row operations, for use inside SqliteWriter ops. */
export class SqliteDeviceRows {
  readonly #s;
  /** Rows for reads outside writes (readDevice); putDevice keeps it true. */
  readonly cache: DeviceRowCache;

  constructor(db: SqliteDatabase) {
    this.cache = new DeviceRowCache(db);
    this.#s = {
      getRealm: db.prepare<[string], RealmDbRow>('SELECT * FROM realms WHERE name = ?'),
      listRealms: db.prepare<[], RealmDbRow>('SELECT * FROM realms ORDER BY name'),
      insertRealm: db.prepare(
        `INSERT INTO realms (name, public_key_pem, broker_url, device_registration_limit, device_id_namespace, factory, created_at)
         VALUES (@name, @publicKeyPem, @brokerUrl, @deviceRegistrationLimit, @deviceIdNamespace, @factory, @createdAt)
         ON CONFLICT (name) DO NOTHING`,
      ),
      getDevice: db.prepare<[string, string], DeviceDbRow>('SELECT * FROM devices WHERE realm = ? AND device_id = ?'),
      countDevices: db.prepare<[string], number>('SELECT devices FROM realm_device_counts WHERE realm = ?').pluck(),
      // The realm's limit against its count in one statement, without reading (and converting) the whole realm row.
      atLimit: db
        .prepare<[string], number>(
          `SELECT COALESCE(c.devices, 0) >= r.device_registration_limit FROM realms r
             LEFT JOIN realm_device_counts c ON c.realm = r.name
            WHERE r.name = ? AND r.device_registration_limit IS NOT NULL`,
        )
        .pluck(),
      // An upsert, not INSERT OR REPLACE: the replace's implicit delete would skip the count triggers.
      putDevice: db.prepare(
        `INSERT INTO devices (realm, device_id, secret_hash, inhibited, first_registration_at, last_registration_at,
           first_credentials_request_at, last_credentials_request_at, certificate_serial, certificate_not_after, initial_introspection)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (realm, device_id) DO UPDATE SET secret_hash = excluded.secret_hash, inhibited = excluded.inhibited,
           first_registration_at = excluded.first_registration_at, last_registration_at = excluded.last_registration_at,
           first_credentials_request_at = excluded.first_credentials_request_at,
           last_credentials_request_at = excluded.last_credentials_request_at, certificate_serial = excluded.certificate_serial,
           certificate_not_after = excluded.certificate_not_after, initial_introspection = excluded.initial_introspection`,
      ),
      recordCertificate: db.prepare(
        'INSERT INTO certificates (serial, realm, device_id, issued_at, not_after) VALUES (?, ?, ?, ?, ?)',
      ),
      revokeCertificate: db.prepare(
        'UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL',
      ),
      getCertificate: db.prepare<[string], CertificateDbRow>(
        'SELECT serial, realm, device_id, issued_at, not_after, revoked_at, revocation_reason FROM certificates WHERE serial = ?',
      ),
      isRevoked: db.prepare<[string], number>('SELECT 1 FROM certificates WHERE serial = ? AND revoked_at IS NOT NULL').pluck(),
      listRevoked: db.prepare<[], { serial: string; revoked_at: string; revocation_reason: RevocationReason }>(
        'SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial',
      ),
      getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
      bumpMeta: db.prepare(
        `INSERT INTO meta (key, value) VALUES (?, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
      ),
    };
  }

  getRealm(name: string): RealmRow | undefined {
    const r = this.#s.getRealm.get(name);
    return r && toRealm(r);
  }

  listRealms(): RealmRow[] {
    return this.#s.listRealms.all().map(toRealm);
  }

  insertRealm(row: RealmRow): boolean {
    return this.#s.insertRealm.run(row).changes > 0;
  }

  getDevice(realm: string, deviceId: string): DeviceRow | undefined {
    const r = this.#s.getDevice.get(realm, deviceId);
    return r && toDevice(r);
  }

  /** getDevice for reads outside a write (the request path): through the cache. The row is frozen. */
  readDevice(realm: string, deviceId: string): Readonly<DeviceRow> | undefined {
    return this.cache.get(realm, deviceId, () => this.getDevice(realm, deviceId));
  }

  countDevices(realm: string): number {
    return this.#s.countDevices.get(realm) ?? 0;
  }

  /** True when a new device would exceed the realm's registration limit. */
  atLimit(realm: string): boolean {
    return this.#s.atLimit.get(realm) === 1;
  }

  /** Insert or replace the whole device row. */
  putDevice(d: DeviceRow): void {
    this.cache.forget(d.realm, d.deviceId);
    this.#s.putDevice.run(
      d.realm,
      d.deviceId,
      d.secretHash,
      d.inhibited ? 1 : 0,
      d.firstRegistrationAt,
      d.lastRegistrationAt,
      d.firstCredentialsRequestAt,
      d.lastCredentialsRequestAt,
      d.certificateSerial,
      d.certificateNotAfter,
      d.initialIntrospection === null ? null : JSON.stringify(d.initialIntrospection),
    );
  }

  /** The certificate, and the revocation of the device's previous one (superseded). */
  issueCertificate(device: DeviceRow, serialHex: string, notAfter: string, at: string): void {
    if (device.certificateSerial) this.revokeCertificate(device.certificateSerial, at, 'superseded');
    this.#s.recordCertificate.run(serialHex.toLowerCase(), device.realm, device.deviceId, at, notAfter);
  }

  revokeCertificate(serialHex: string, at: string, reason: RevocationReason): void {
    if (this.#s.revokeCertificate.run(at, reason, serialHex.toLowerCase()).changes > 0) this.#s.bumpMeta.run('revocations');
  }

  isRevoked(serialHex: string): boolean {
    return this.#s.isRevoked.get(serialHex.toLowerCase()) !== undefined;
  }

  getCertificate(serialHex: string): CertificateRow | undefined {
    const r = this.#s.getCertificate.get(serialHex.toLowerCase());
    return r && certificateRow(r);
  }

  listRevoked(): RevokedCertificateRow[] {
    return this.#s.listRevoked.all().map((r) => ({ serialHex: r.serial, revokedAt: r.revoked_at, reason: r.revocation_reason }));
  }

  revocationCount(): number {
    return Number(this.#s.getMeta.get('revocations') ?? 0);
  }
}

export function sqliteRealmStore(rows: SqliteDeviceRows, writer: SqliteWriter): RealmStore {
  return {
    list: async () => rows.listRealms(),
    get: async (name) => rows.getRealm(name),
    create: (row) => writer.write(() => rows.insertRealm(row)),
  };
}

export function sqliteDeviceStore(rows: SqliteDeviceRows, writer: SqliteWriter): DeviceStore {
  return {
    get: async (realm, deviceId) => rows.readDevice(realm, deviceId),
    count: async (realm) => rows.countDevices(realm),
    register: (r: RegisterRequest) =>
      writer.write((): RegisterOutcome => {
        const existing = rows.getDevice(r.realm, r.deviceId);
        if (existing?.firstCredentialsRequestAt) return 'confirmed';
        // As Astarte: a device the realm knows may always register again; only new ones need a place.
        if (!existing && rows.atLimit(r.realm)) return 'limit';
        const base = existing ?? emptyDeviceRow(r.realm, r.deviceId);
        rows.putDevice({
          ...base,
          secretHash: r.secretHash,
          inhibited: false,
          firstRegistrationAt: base.firstRegistrationAt ?? r.at,
          lastRegistrationAt: r.at,
          initialIntrospection: r.initialIntrospection,
        });
        return 'registered';
      }),
    unregister: (realm, deviceId) =>
      writer.write(() => {
        const d = rows.getDevice(realm, deviceId);
        if (!d) return false;
        rows.putDevice({ ...d, secretHash: null, firstCredentialsRequestAt: null });
        return true;
      }),
    setInhibited: (realm, deviceId, inhibited) =>
      writer.write(() => {
        const d = rows.getDevice(realm, deviceId);
        if (!d) return false;
        rows.putDevice({ ...d, inhibited });
        return true;
      }),
    recordCredentials: (r: CredentialsRecord) =>
      writer.write((): CredentialsOutcome => {
        const d = rows.getDevice(r.realm, r.deviceId);
        if (!d || d.secretHash !== r.secretHash) return 'stale';
        if (d.inhibited) return 'inhibited';
        rows.issueCertificate(d, r.serialHex, r.notAfter, r.at);
        rows.putDevice({
          ...d,
          firstCredentialsRequestAt: d.firstCredentialsRequestAt ?? r.at,
          lastCredentialsRequestAt: r.at,
          certificateSerial: r.serialHex.toLowerCase(),
          certificateNotAfter: r.notAfter,
        });
        return 'issued';
      }),
  };
}

export function sqliteCertificateStore(rows: SqliteDeviceRows): CertificateStore {
  return {
    get: async (serial) => rows.getCertificate(serial),
    isRevoked: async (serial) => rows.isRevoked(serial),
    listRevoked: async () => rows.listRevoked(),
    revocationCount: async () => rows.revocationCount(),
  };
}
