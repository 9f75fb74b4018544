// The offline-import store contract: devices a station registered in its embedded core while this
// core was unreachable (their secret hashes, never secrets), one outcome per device, and the record
// of each station's imports for QA. One chunk is one transaction. Engines: store/*-imports.ts.
import type { DeviceRow } from '../pairing-rows.ts';

export interface ImportedDevice {
  deviceId: string;
  /** `$imprint-sha256$v=1$…` (or bcrypt): verifiable by any core without a key. */
  secretHash: string;
  /** ISO 8601: when the station registered the device offline. */
  registeredAt: string;
  operator?: string;
  hardwareSerial?: string;
}

export type DeviceImportResult = 'imported' | 'already_present' | 'conflict';

export interface DeviceImportOutcome {
  deviceId: string;
  result: DeviceImportResult;
  /** Why a conflict (for QA), absent otherwise. */
  reason?: string;
}

export interface DeviceImportRecord {
  station: string;
  deviceId: string;
  batch: string;
  operator?: string;
  hardwareSerial?: string;
  registeredAt: string;
  /** `dropped`: a conflict resolved by keeping the core's registration. */
  result: DeviceImportResult | 'dropped';
  reason?: string;
  /**
   * The registration this core holds for the device (conflicts only): an import by another station
   * (with its station, batch and time) or an online one; null when the core holds none (the limit).
   */
  heldBy?: HeldRegistration | null;
}

export interface HeldRegistration {
  station: string | null;
  batch: string | null;
  registeredAt: string | null;
  source: 'online' | 'import';
}

/** A station enrolled by plant IT: its id bound to its Ed25519 batch-signing key. */
export interface EnrolledStation {
  station: string;
  /** Base64 of the DER SubjectPublicKeyInfo (as batch-close events embed it). */
  publicKey: string;
  keyId: string;
  enrolledAt: string;
  /** Seq up to which the central copy of its chain was accepted under this key. */
  verifiedUpTo: number;
}

export type EnrolOutcome =
  | { kind: 'enrolled' | 'already_enrolled'; station: EnrolledStation }
  | { kind: 'key_mismatch'; station: EnrolledStation };

export type ResolveOutcome =
  | { kind: 'kept_core' | 'kept_station'; record: DeviceImportRecord }
  | { kind: 'not_found' }
  | { kind: 'confirmed' }
  | { kind: 'limit' };

export interface ImportChunk {
  realm: string;
  station: string;
  batch: string;
  /** Already checked and canonical (import-service.ts). */
  devices: ImportedDevice[];
  at: string;
}

export interface ImportStore {
  importDevices(chunk: ImportChunk): Promise<DeviceImportOutcome[]>;
  /** Devices refused on import (one station or all), for QA, each with the registration the core holds. */
  conflicts(realm: string, station?: string): Promise<DeviceImportRecord[]>;
  /**
   * Resolves a station's conflict on `deviceId`: `core` drops the station's registration from the
   * conflicts; `station` makes the imported hash the device's secret, unless the device already
   * obtained credentials (`confirmed`) or is new beyond the realm's limit. One transaction.
   */
  resolveConflict(
    realm: string,
    station: string,
    deviceId: string,
    keep: 'core' | 'station',
    at: string,
  ): Promise<ResolveOutcome>;
  /** Binds `station` to its key; the same key again is `already_enrolled`, another one `key_mismatch` (nothing changes). */
  enrolStation(realm: string, s: Omit<EnrolledStation, 'verifiedUpTo'>): Promise<EnrolOutcome>;
  station(realm: string, station: string): Promise<EnrolledStation | undefined>;
  stations(realm: string): Promise<EnrolledStation[]>;
}

/** The rule of enrolment over what the transaction read (both engines). */
export function enrolOutcome(existing: EnrolledStation | undefined, publicKey: string): EnrolOutcome['kind'] {
  if (!existing) return 'enrolled';
  return existing.publicKey === publicKey ? 'already_enrolled' : 'key_mismatch';
}

/** Why a conflict row cannot be resolved by keeping the station's registration (both engines). */
export function keepStationRefusal(
  existing: DeviceRow | undefined,
  limitReached: boolean,
): Exclude<ResolveOutcome['kind'], 'kept_core' | 'kept_station'> | undefined {
  if (existing?.firstCredentialsRequestAt) return 'confirmed';
  if (!existing && limitReached) return 'limit';
  return undefined;
}

/** A stored conflict row joined with the core's own registration of the device (see the engines' SQL). */
export interface ConflictDbRow {
  station: string;
  device_id: string;
  batch: string;
  operator: string | null;
  hardware_serial: string | null;
  registered_at: string;
  result: DeviceImportResult | 'dropped';
  reason: string | null;
  /** The device row's last registration (null: no device row). */
  held_registered_at: string | null;
  held_exists: number | boolean | null;
  /** Set when the device's current secret came from an import (that station's row). */
  held_station: string | null;
  held_batch: string | null;
  held_import_at: string | null;
}

/** The conflicts query of either engine (`?` or `$n` placeholders; `station` optional). */
export function conflictsSql(withStation: boolean, placeholder: (n: number) => string): string {
  return `SELECT i.station, i.device_id, i.batch, i.operator, i.hardware_serial, i.registered_at, i.result, i.reason,
      d.last_registration_at AS held_registered_at, d.device_id IS NOT NULL AS held_exists,
      h.station AS held_station, h.batch AS held_batch, h.registered_at AS held_import_at
    FROM device_imports i
    LEFT JOIN devices d ON d.realm = i.realm AND d.device_id = i.device_id
    LEFT JOIN device_imports h ON h.realm = i.realm AND h.device_id = i.device_id AND h.result = 'imported'
      AND h.secret_hash = d.secret_hash AND h.station <> i.station
    WHERE i.realm = ${placeholder(1)} AND i.result = 'conflict'${withStation ? ` AND i.station = ${placeholder(2)}` : ''}
    ORDER BY i.station, i.device_id`;
}

export function toImportRecord(r: ConflictDbRow | Omit<ConflictDbRow, `held_${string}`>): DeviceImportRecord {
  const rec: DeviceImportRecord = {
    station: r.station,
    deviceId: r.device_id,
    batch: r.batch,
    operator: r.operator ?? undefined,
    hardwareSerial: r.hardware_serial ?? undefined,
    registeredAt: r.registered_at,
    result: r.result,
    reason: r.reason ?? undefined,
  };
  if ('held_exists' in r)
    rec.heldBy = !r.held_exists
      ? null
      : r.held_station
        ? { station: r.held_station, batch: r.held_batch, registeredAt: r.held_import_at, source: 'import' }
        : { station: null, batch: null, registeredAt: r.held_registered_at, source: 'online' };
  return rec;
}

/**
 * The rule for one imported device over what the transaction read, shared by both engines: the same
 * hash again is already_present; a device confirmed here, or registered here by someone else with
 * another secret, or a new device beyond the realm's limit, is a conflict and is never overwritten.
 */
export function decideImport(
  d: ImportedDevice,
  existing: DeviceRow | undefined,
  /** The hash this station imported last for the device (its own earlier import may be replaced). */
  lastImportedHash: string | undefined,
  limitReached: boolean,
  limit: number | null,
): DeviceImportOutcome {
  if (existing?.secretHash === d.secretHash) return { deviceId: d.deviceId, result: 'already_present' };
  if (existing?.firstCredentialsRequestAt)
    return {
      deviceId: d.deviceId,
      result: 'conflict',
      reason: 'already confirmed: the device obtained credentials with another secret',
    };
  if (existing?.secretHash && lastImportedHash !== existing.secretHash)
    return { deviceId: d.deviceId, result: 'conflict', reason: 'registered elsewhere with another secret' };
  if (!existing && limitReached)
    return {
      deviceId: d.deviceId,
      result: 'conflict',
      reason: `the realm's device registration limit (${limit}) has been reached`,
    };
  return { deviceId: d.deviceId, result: 'imported' };
}

/** The device row an import writes (registered as of the station's time). */
export function importedDeviceRow(base: DeviceRow, d: ImportedDevice): DeviceRow {
  return {
    ...base,
    secretHash: d.secretHash,
    inhibited: false,
    firstRegistrationAt: base.firstRegistrationAt ?? d.registeredAt,
    lastRegistrationAt: d.registeredAt,
  };
}
