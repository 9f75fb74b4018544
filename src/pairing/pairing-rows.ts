// The rows of the pairing store contract (pairing-store.ts), as every engine returns them: realms,
// devices, certificates. Their own module, so that feature stores (imports, claims) can name a device row
// without importing the contract that aggregates them.
import type { IntrospectionEntry } from './pairing-api.ts';

export interface RealmRow {
  name: string;
  publicKeyPem: string;
  brokerUrl: string;
  deviceRegistrationLimit: number | null;
  deviceIdNamespace: string;
  factory: string | null;
  createdAt: string;
}

export interface DeviceRow {
  realm: string;
  /** Canonical 22-character device id. */
  deviceId: string;
  /** Self-describing hash of the credentials secret (secret-hash.ts); null when not registered. */
  secretHash: string | null;
  inhibited: boolean;
  firstRegistrationAt: string | null;
  lastRegistrationAt: string | null;
  firstCredentialsRequestAt: string | null;
  lastCredentialsRequestAt: string | null;
  certificateSerial: string | null;
  certificateNotAfter: string | null;
  initialIntrospection: Record<string, IntrospectionEntry> | null;
}

export type RevocationReason = 'superseded' | 'unspecified' | 'keyCompromise';

export interface RevokedCertificateRow {
  serialHex: string;
  revokedAt: string;
  reason: RevocationReason;
}

/** A certificate this core issued, and its revocation if any (OCSP answers from it). */
export interface CertificateRow {
  serialHex: string;
  realm: string;
  deviceId: string;
  issuedAt: string;
  notAfter: string;
  revokedAt: string | null;
  reason: RevocationReason | null;
}
