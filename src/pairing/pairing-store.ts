// The pairing core's storage contract: one async store per feature, each operation atomic, so the
// domain never holds an engine handle and the same rules hold on the embedded SQLite store and on
// PostgreSQL shared by many instances (store/sqlite-*.ts, store/pg-*.ts; test/pairing-store/ runs
// one contract suite on both). Operations that decide (register, record credentials, claim, sign,
// import) decide inside the engine's transaction: concurrent calls, from any instance, behave as if
// made one after the other.
import type { ClaimStore } from './claims/claim-store.ts';
import type { CoreAuditSink } from './core-audit.ts';
import type { SignStore } from './foundries/sign-store.ts';
import type { CentralAuditStore } from './import/central-audit-store.ts';
import type { ImportStore } from './import/import-store.ts';
import type { IntrospectionEntry } from './pairing-api.ts';
import type { CertificateRow, DeviceRow, RealmRow, RevokedCertificateRow } from './pairing-rows.ts';

export type { CertificateRow, DeviceRow, RealmRow, RevocationReason, RevokedCertificateRow } from './pairing-rows.ts';

export interface RealmStore {
  list(): Promise<RealmRow[]>;
  get(name: string): Promise<RealmRow | undefined>;
  /** False when a realm of that name already exists (nothing changed). */
  create(row: RealmRow): Promise<boolean>;
}

export interface RegisterRequest {
  realm: string;
  deviceId: string;
  secretHash: string;
  initialIntrospection: Record<string, IntrospectionEntry> | null;
  at: string;
}

/**
 * registered: the device now holds `secretHash` (any earlier secret stopped working; an inhibition
 * is lifted). confirmed: it has requested credentials, so it is not registered again. limit: a new
 * device, and the realm already knows as many devices as its limit allows.
 */
export type RegisterOutcome = 'registered' | 'confirmed' | 'limit';

export interface CredentialsRecord {
  realm: string;
  deviceId: string;
  /** The hash the device authenticated with: if it changed since (re-registered, unregistered), nothing is recorded. */
  secretHash: string;
  serialHex: string;
  notAfter: string;
  at: string;
}

/** issued: recorded, the previous certificate revoked (superseded). stale: the secret changed. inhibited: refused. */
export type CredentialsOutcome = 'issued' | 'stale' | 'inhibited';

export interface DeviceStore {
  get(realm: string, deviceId: string): Promise<DeviceRow | undefined>;
  register(r: RegisterRequest): Promise<RegisterOutcome>;
  /** Clears the secret and the first-credentials time (the row and its history stay); false when unknown. */
  unregister(realm: string, deviceId: string): Promise<boolean>;
  /** False when the device is unknown. */
  setInhibited(realm: string, deviceId: string, inhibited: boolean): Promise<boolean>;
  recordCredentials(r: CredentialsRecord): Promise<CredentialsOutcome>;
  /** Device rows the realm knows, unregistered ones included (Astarte's registration limit counts these). */
  count(realm: string): Promise<number>;
}

export interface CertificateStore {
  /** The certificate issued with that serial (any case of hex), undefined when this core never issued it. */
  get(serialHex: string): Promise<CertificateRow | undefined>;
  isRevoked(serialHex: string): Promise<boolean>;
  listRevoked(): Promise<RevokedCertificateRow[]>;
  /** How many certificates are revoked: grows with every committed revocation, so a cached CRL knows it is stale. */
  revocationCount(): Promise<number>;
}

export type StoreEngine = 'sqlite' | 'postgres';

export interface StoreHealth {
  ok: boolean;
  /** Round trip of the health query, milliseconds. */
  latencyMs: number;
  /** Why not ok (never a secret). */
  error?: string;
}

/** Keys every instance on a shared store must hold (their fingerprints are recorded, never the keys). */
export type FleetKey = 'ca-certificate' | 'claim-signing-key';

export interface PairingStore {
  readonly engine: StoreEngine;
  readonly realms: RealmStore;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly claims: ClaimStore;
  readonly signs: SignStore;
  readonly imports: ImportStore;
  readonly centralAudit: CentralAuditStore;
  /**
   * The core's own audit chain, kept by the store (instances keep no state). SQLite seals the event of
   * a claim or /sign in that write's transaction (`sealsInWrites`); PostgreSQL appends it after, in its
   * own. undefined: a store without one (the caller may use a trail file, core-audit.ts).
   */
  readonly coreAudit?: CoreAuditSink;
  /**
   * Stores shared by several instances: records the fingerprint of a key the first time, then checks
   * every instance's against it (StoreError FLEET_KEY_MISMATCH).
   */
  adoptKey?(name: FleetKey, sha256: string, at: string): Promise<'recorded' | 'same'>;
  /** The fingerprint recorded for `name`, if any. */
  fleetKey?(name: FleetKey): Promise<string | undefined>;
  /** Commits made and the writes they carried (SQLite groups many writes in one commit; PostgreSQL: one each). */
  commitStats(): { batches: number; writes: number };
  /** The durability in force, as the engine reports it (e.g. `synchronous=FULL`, `synchronous_commit=on`). */
  durability(): string;
  /** The schema version in force (numbered migrations, src/db/migrations.ts). */
  schemaVersion(): Promise<number>;
  /** A cheap query against the database: is it there, and how fast does it answer. */
  health(): Promise<StoreHealth>;
  /** Prometheus lines of the store (group commit, pool, latency), for /metrics. */
  metricsText(): string;
  /** Commit pending writes, then close. */
  close(): Promise<void>;
}
