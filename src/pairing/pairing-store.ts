// Storage of the pairing core, behind a small interface so that another engine (PostgreSQL for a
// fleet) can replace SQLite. Plain rows in, plain rows out; the rules live in embedded-core.ts.
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

export interface IssuedCertificateRow {
  serialHex: string;
  realm: string;
  deviceId: string;
  issuedAt: string;
  notAfter: string;
}

/** An issued certificate and its revocation, if any (OCSP answers from it). */
export interface CertificateRow extends IssuedCertificateRow {
  revokedAt: string | null;
  reason: RevocationReason | null;
}

export interface RevokedCertificateRow {
  serialHex: string;
  revokedAt: string;
  reason: RevocationReason;
}

/** Reads: cheap, synchronous, always the committed state (or the current transaction's). */
export interface PairingStoreReader {
  getRealm(name: string): RealmRow | undefined;
  listRealms(): RealmRow[];
  getDevice(realm: string, deviceId: string): DeviceRow | undefined;
  /**
   * Devices the realm knows, a row each, unregistered ones included: Astarte's registration limit
   * counts these.
   */
  countDevices(realm: string): number;
  isRevoked(serialHex: string): boolean;
  /** The certificate this core issued with that serial (canonical lowercase hex), undefined when none. */
  getCertificate(serialHex: string): CertificateRow | undefined;
  listRevoked(): RevokedCertificateRow[];
  /** Increases with every revocation: the CRL number. */
  revocationCount(): number;
}

/** Writes, only inside `PairingStore.write`. */
export interface PairingStoreWriter extends PairingStoreReader {
  /** Insert or replace the whole device row. */
  putDevice(row: DeviceRow): void;
  recordCertificate(row: IssuedCertificateRow): void;
  revokeCertificate(serialHex: string, revokedAt: string, reason: RevocationReason): void;
}

export interface PairingStore extends PairingStoreReader {
  createRealm(row: RealmRow): void;
  /**
   * Run `op` in a durable transaction and resolve once it is committed. Concurrent calls are
   * grouped into one transaction (group commit); each op runs in its own savepoint, so an op that
   * throws rejects only its own caller and leaves no partial write.
   */
  write<T>(op: (tx: PairingStoreWriter) => T): Promise<T>;
  /** The durability setting in force, as the engine reports it (e.g. `FULL`). */
  durability(): string;
  /** Committed write batches and the writes they carried (group commit at work). */
  commitStats(): { batches: number; writes: number };
  /**
   * Statements of a feature with its own tables in the same database, usable inside write() ops (same
   * transaction). `db` is the engine's handle (better-sqlite3 for SqlitePairingStore).
   */
  prepareExtension?<T>(prepare: (db: import('better-sqlite3').Database) => T): T;
  /** Commit pending writes, then close. */
  close(): Promise<void>;
}
