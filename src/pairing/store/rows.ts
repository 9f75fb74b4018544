// Rows as both engines return them (snake_case columns) and the domain's records made from them.
// SQLite answers 0/1 where PostgreSQL answers booleans; everything else is the same text and numbers.
import type { ClaimTokenRecord } from '../claims/claim-store.ts';
import type { SignRecord } from '../foundries/sign-store.ts';
import type { EnrolledStation } from '../import/import-store.ts';
import type { CertificateRow, DeviceRow, RealmRow, RevocationReason } from '../pairing-store.ts';

export interface DeviceDbRow {
  realm: string;
  device_id: string;
  secret_hash: string | null;
  inhibited: number | boolean;
  first_registration_at: string | null;
  last_registration_at: string | null;
  first_credentials_request_at: string | null;
  last_credentials_request_at: string | null;
  certificate_serial: string | null;
  certificate_not_after: string | null;
  initial_introspection: string | null;
}

export interface RealmDbRow {
  name: string;
  public_key_pem: string;
  broker_url: string;
  device_registration_limit: number | null;
  device_id_namespace: string;
  factory: string | null;
  created_at: string;
}

export function toDevice(r: DeviceDbRow): DeviceRow {
  return {
    realm: r.realm,
    deviceId: r.device_id,
    secretHash: r.secret_hash,
    inhibited: Boolean(r.inhibited),
    firstRegistrationAt: r.first_registration_at,
    lastRegistrationAt: r.last_registration_at,
    firstCredentialsRequestAt: r.first_credentials_request_at,
    lastCredentialsRequestAt: r.last_credentials_request_at,
    certificateSerial: r.certificate_serial,
    certificateNotAfter: r.certificate_not_after,
    initialIntrospection: r.initial_introspection === null ? null : JSON.parse(r.initial_introspection),
  };
}

export function toRealm(r: RealmDbRow): RealmRow {
  return {
    name: r.name,
    publicKeyPem: r.public_key_pem,
    brokerUrl: r.broker_url,
    deviceRegistrationLimit: r.device_registration_limit,
    deviceIdNamespace: r.device_id_namespace,
    factory: r.factory,
    createdAt: r.created_at,
  };
}

export function emptyDeviceRow(realm: string, deviceId: string): DeviceRow {
  return {
    realm,
    deviceId,
    secretHash: null,
    inhibited: false,
    firstRegistrationAt: null,
    lastRegistrationAt: null,
    firstCredentialsRequestAt: null,
    lastCredentialsRequestAt: null,
    certificateSerial: null,
    certificateNotAfter: null,
    initialIntrospection: null,
  };
}

export interface TokenDbRow {
  jti: string;
  realm: string;
  created_at: string;
  expires_at: string;
  max_uses: number | null;
  uses: number;
  serial_pattern: string | null;
  batch: string | null;
  revoked_at: string | null;
}

export const toTokenRecord = (r: TokenDbRow): ClaimTokenRecord => ({
  jti: r.jti,
  realm: r.realm,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  maxUses: r.max_uses,
  uses: r.uses,
  serialPattern: r.serial_pattern,
  batch: r.batch,
  revokedAt: r.revoked_at,
});

export interface SignDbRow {
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

export const toSignRecord = (r: SignDbRow): SignRecord => ({
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
});

export interface CertificateDbRow {
  serial: string;
  realm: string;
  device_id: string;
  issued_at: string;
  not_after: string;
  revoked_at: string | null;
  revocation_reason: RevocationReason | null;
}

export function certificateRow(r: CertificateDbRow): CertificateRow {
  return {
    serialHex: r.serial,
    realm: r.realm,
    deviceId: r.device_id,
    issuedAt: r.issued_at,
    notAfter: r.not_after,
    revokedAt: r.revoked_at,
    reason: r.revocation_reason,
  };
}

export interface StationDbRow {
  station: string;
  public_key: string;
  key_id: string;
  enrolled_at: string;
  verified_up_to: number;
}

export const toEnrolledStation = (r: StationDbRow): EnrolledStation => ({
  station: r.station,
  publicKey: r.public_key,
  keyId: r.key_id,
  enrolledAt: r.enrolled_at,
  verifiedUpTo: Number(r.verified_up_to),
});
