// Import of offline registrations into this (remote) core: a station registered devices in its
// embedded core while this core was unreachable and now sends their secret hashes (never secrets).
// Idempotent per device: the same hash again is `already_present`; a device registered here with
// another secret, or already confirmed, is a `conflict` and is never overwritten.

import { canonicalDeviceId } from '../../common/device-id.ts';
import { isImprintError } from '../../common/errors.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { secretHashScheme } from '../secret-hash.ts';
import type { DeviceImportOutcome, DeviceImportRecord, ImportedDevice } from './import-store.ts';

export type { DeviceImportOutcome, DeviceImportRecord, DeviceImportResult, ImportedDevice } from './import-store.ts';

export interface DeviceImportRequest {
  realm: string;
  station: string;
  batch: string;
  devices: ImportedDevice[];
}

const STATION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function checkStationName(station: string): void {
  if (!STATION.test(station)) {
    throw new PairingError('VALIDATION', {
      message: 'Invalid station',
      fields: { station: ['must be 1 to 128 letters, digits, ".", "_", ":" or "-"'] },
    });
  }
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

  constructor(ext: PairingCoreExtension) {
    this.#ext = ext;
  }

  async importDevices(req: DeviceImportRequest): Promise<DeviceImportOutcome[]> {
    const realm = await this.#ext.realm(req.realm);
    checkStationName(req.station);
    if (typeof req.batch !== 'string' || req.batch.length === 0 || req.batch.length > 128) {
      throw new PairingError('VALIDATION', { message: 'Invalid batch', fields: { batch: ['must be 1 to 128 characters'] } });
    }
    // Everything is checked before anything is written; the chunk is one transaction (all or none of it).
    const devices = normalize(req.devices);
    return this.#ext.store.imports.importDevices({
      realm: realm.name,
      station: req.station,
      batch: req.batch,
      devices,
      at: this.#ext.now().toISOString(),
    });
  }

  /** Conflicts to resolve (one station or all), for QA. */
  async conflicts(realm: string, station?: string): Promise<DeviceImportRecord[]> {
    await this.#ext.realm(realm);
    return this.#ext.store.imports.conflicts(realm, station);
  }
}
