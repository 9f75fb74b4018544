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
  result: DeviceImportResult;
  reason?: string;
}

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
  /** Devices refused on import (one station or all), for QA. */
  conflicts(realm: string, station?: string): Promise<DeviceImportRecord[]>;
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
