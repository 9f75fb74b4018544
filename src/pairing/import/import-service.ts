// Import of offline registrations into this (remote) core: a station registered devices in its
// embedded core while this core was unreachable and now sends their secret hashes (never secrets).
// Idempotent per device: the same hash again is `already_present`; a device registered here with
// another secret, or already confirmed, is a `conflict` and is never overwritten.

import { canonicalDeviceId } from '../../common/device-id.ts';
import { isImprintError } from '../../common/errors.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { secretHashScheme } from '../secret-hash.ts';
import type { ImportDecisions } from './import-decisions.ts';
import type { DeviceImportOutcome, DeviceImportRecord, ImportedDevice } from './import-store.ts';
import { checkStationName } from './station-name.ts';
import type { StationRegistry } from './station-registry.ts';

export type { DeviceImportOutcome, DeviceImportRecord, DeviceImportResult, ImportedDevice } from './import-store.ts';

export interface DeviceImportRequest {
  realm: string;
  station: string;
  batch: string;
  devices: ImportedDevice[];
}

function invalid(field: string, index: number, message: string): PairingError {
  return new PairingError('VALIDATION', {
    message: `Invalid devices[${index}].${field}`,
    fields: { [`devices[${index}].${field}`]: [message] },
  });
}

/** Validates the whole request before anything is written: a bad entry refuses the chunk, loses nothing. */
function normalize(devices: ImportedDevice[]): ImportedDevice[] {
  const seen = new Set<string>();
  return devices.map((d, i) => {
    let deviceId: string;
    try {
      deviceId = canonicalDeviceId(d.deviceId);
    } catch (e) {
      throw invalid('device_id', i, isImprintError(e) ? e.message : 'is not a valid device id');
    }
    if (seen.has(deviceId)) throw invalid('device_id', i, 'appears twice in this request');
    seen.add(deviceId);
    if (!secretHashScheme(d.secretHash))
      throw invalid('secret_hash', i, 'is not a supported hash ($imprint-sha256$v=1$… or $2b$)');
    const t = new Date(d.registeredAt);
    if (Number.isNaN(t.getTime())) throw invalid('registered_at', i, 'is not an ISO 8601 date/time');
    return { ...d, deviceId, registeredAt: t.toISOString() };
  });
}

export class DeviceImportService {
  readonly #ext: PairingCoreExtension;
  readonly #stations: StationRegistry;
  readonly #decisions: ImportDecisions;

  constructor(ext: PairingCoreExtension, stations: StationRegistry, decisions: ImportDecisions) {
    this.#ext = ext;
    this.#stations = stations;
    this.#decisions = decisions;
  }

  async importDevices(req: DeviceImportRequest): Promise<DeviceImportOutcome[]> {
    const realm = await this.#ext.realm(req.realm);
    checkStationName(req.station);
    if (typeof req.batch !== 'string' || req.batch.length === 0 || req.batch.length > 128) {
      throw new PairingError('VALIDATION', { message: 'Invalid batch', fields: { batch: ['must be 1 to 128 characters'] } });
    }
    // Everything is checked before anything is written; the chunk is one transaction (all or none of it).
    const devices = normalize(req.devices);
    await this.#stations.requireEnrolled(realm.name, req.station, 'devices');
    return this.#ext.store.imports.importDevices({
      realm: realm.name,
      station: req.station,
      batch: req.batch,
      devices,
      at: this.#ext.now().toISOString(),
    });
  }

  /** Conflicts to resolve (one station or all), for QA, each with the registration the core holds. */
  async conflicts(realm: string, station?: string): Promise<DeviceImportRecord[]> {
    await this.#ext.realm(realm);
    return this.#ext.store.imports.conflicts(realm, station);
  }

  /**
   * Resolves `station`'s conflict on a device: `core` keeps the core's registration (the station's device
   * must be provisioned again), `station` makes the station's registration the device's (only while the
   * device has not obtained credentials). Audited.
   */
  async resolve(
    realm: string,
    deviceId: string,
    keep: 'core' | 'station',
    station: string,
    operator?: string,
  ): Promise<DeviceImportRecord> {
    await this.#ext.realm(realm);
    checkStationName(station);
    let id: string;
    try {
      id = canonicalDeviceId(deviceId);
    } catch {
      throw new PairingError('INVALID_DEVICE_ID');
    }
    const o = await this.#ext.store.imports.resolveConflict(realm, station, id, keep, this.#ext.now().toISOString());
    switch (o.kind) {
      case 'not_found':
        throw new PairingError('CONFLICT_NOT_FOUND', { message: `No import conflict of device ${id} from station ${station}` });
      case 'confirmed':
        throw new PairingError('DEVICE_ALREADY_CONFIRMED', {
          message: `Device ${id} obtained credentials with the core's secret: keep the core's registration and re-provision the device station ${station} registered`,
        });
      case 'limit':
        throw new PairingError('REGISTRATION_LIMIT');
    }
    await this.#decisions.record(realm, {
      step: 'conflict-resolve',
      outcome: 'info',
      operator,
      deviceId: id,
      hardwareSerial: o.record.hardwareSerial,
      batchId: o.record.batch,
      message:
        keep === 'core'
          ? `kept the core's registration of ${id}; station ${station}'s device must be provisioned again`
          : `station ${station}'s registration of ${id} replaces the core's`,
      data: { station, keep },
    });
    return o.record;
  }
}
