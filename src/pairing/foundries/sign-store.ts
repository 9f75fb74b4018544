// The /sign records (migration 005) on the pairing store's connection: one row per device UUID,
// kept across re-registrations (the reference server's only record is one overwritten file).
import type { Database } from 'better-sqlite3';

export interface SignRecord {
  realm: string;
  uuid: string;
  deviceId: string;
  name: string | null;
  hardwareId: string | null;
  certificateSerial: string;
  publicKeySha256: string;
  signedAt: string;
  signings: number;
  state: 'signed' | 'reopened';
  reopenedAt: string | null;
}

interface Row {
  realm: string;
  uuid: string;
  device_id: string;
  name: string | null;
  hardware_id: string | null;
  certificate_serial: string;
  public_key_sha256: string;
  signed_at: string;
  signings: number;
  state: 'signed' | 'reopened';
  reopened_at: string | null;
}

export class SignStore {
  readonly #s;

  constructor(db: Database) {
    this.#s = {
      get: db.prepare<[string, string], Row>('SELECT * FROM sign_registrations WHERE realm = ? AND uuid = ?'),
      upsert: db.prepare(
        `INSERT INTO sign_registrations (realm, uuid, device_id, name, hardware_id, certificate_serial, public_key_sha256, signed_at, state)
         VALUES (@realm, @uuid, @deviceId, @name, @hardwareId, @certificateSerial, @publicKeySha256, @signedAt, 'signed')
         ON CONFLICT (realm, uuid) DO UPDATE SET device_id = excluded.device_id, name = excluded.name,
           hardware_id = excluded.hardware_id, certificate_serial = excluded.certificate_serial,
           public_key_sha256 = excluded.public_key_sha256, signed_at = excluded.signed_at, state = 'signed',
           signings = signings + 1
         RETURNING signings`,
      ),
      reopen: db.prepare("UPDATE sign_registrations SET state = 'reopened', reopened_at = ? WHERE realm = ? AND uuid = ?"),
      deviceExists: db.prepare<[string, string], number>('SELECT 1 FROM devices WHERE realm = ? AND device_id = ?').pluck(),
    };
  }

  get(realm: string, uuid: string): SignRecord | undefined {
    const r = this.#s.get.get(realm, uuid);
    return (
      r && {
        realm: r.realm,
        uuid: r.uuid,
        deviceId: r.device_id,
        name: r.name,
        hardwareId: r.hardware_id,
        certificateSerial: r.certificate_serial,
        publicKeySha256: r.public_key_sha256,
        signedAt: r.signed_at,
        signings: r.signings,
        state: r.state,
        reopenedAt: r.reopened_at,
      }
    );
  }

  /** Records a (re-)registration; returns how many times this UUID has been signed. */
  recordSigned(r: Omit<SignRecord, 'signings' | 'state' | 'reopenedAt'>): number {
    return (this.#s.upsert.get(r) as { signings: number }).signings;
  }

  reopen(realm: string, uuid: string, at: string): void {
    this.#s.reopen.run(at, realm, uuid);
  }

  deviceExists(realm: string, deviceId: string): boolean {
    return this.#s.deviceExists.get(realm, deviceId) !== undefined;
  }
}
