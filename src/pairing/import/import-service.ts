// Import of offline registrations into this (remote) core: a station registered devices in its
// embedded core while this core was unreachable and now sends their secret hashes (never secrets).
// Idempotent per device: the same hash again is `already_present`; a device registered here with
// another secret, or already confirmed, is a `conflict` and is never overwritten.
import type { Database, Statement } from 'better-sqlite3';
import { isImprintError } from '../../common/errors.ts';
import { canonicalDeviceId } from '../device-id.ts';
import { emptyDevice, type PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-api.ts';
import { secretHashScheme } from '../secret-hash.ts';

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

export interface DeviceImportRequest {
  realm: string;
  station: string;
  batch: string;
  devices: ImportedDevice[];
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

interface ImportDbRow {
  station: string;
  device_id: string;
  batch: string;
  operator: string | null;
  hardware_serial: string | null;
  registered_at: string;
  result: DeviceImportResult;
  reason: string | null;
}

const STATION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function checkStationName(station: string): void {
  if (!STATION.test(station)) {
    throw new PairingError('VALIDATION', 422, 'Invalid station', {
      fields: { station: ['must be 1 to 128 letters, digits, ".", "_", ":" or "-"'] },
    });
  }
}

function invalid(field: string, index: number, message: string): PairingError {
  return new PairingError('VALIDATION', 422, `Invalid devices[${index}].${field}`, {
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
  readonly #s: {
    put: Statement;
    lastHash: Statement<[string, string, string], string>;
    list: Statement<[string, string], ImportDbRow>;
    listAll: Statement<[string], ImportDbRow>;
  };

  constructor(ext: PairingCoreExtension) {
    this.#ext = ext;
    this.#s = ext.prepare((db: Database) => ({
      // The latest outcome per (station, device); the first time it was seen stays.
      put: db.prepare(
        `INSERT INTO device_imports (realm, station, device_id, batch, operator, hardware_serial, registered_at, secret_hash, result, reason, first_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (realm, station, device_id) DO UPDATE SET batch = excluded.batch, operator = excluded.operator,
           hardware_serial = excluded.hardware_serial, registered_at = excluded.registered_at,
           secret_hash = excluded.secret_hash, result = excluded.result, reason = excluded.reason`,
      ),
      list: db.prepare<[string, string], ImportDbRow>(
        "SELECT * FROM device_imports WHERE realm = ? AND result = 'conflict' AND station = ? ORDER BY device_id",
      ),
      lastHash: db
        .prepare<[string, string, string], string>(
          "SELECT secret_hash FROM device_imports WHERE realm = ? AND station = ? AND device_id = ? AND result = 'imported'",
        )
        .pluck(),
      listAll: db.prepare<[string], ImportDbRow>(
        "SELECT * FROM device_imports WHERE realm = ? AND result = 'conflict' ORDER BY station, device_id",
      ),
    }));
  }

  async importDevices(req: DeviceImportRequest): Promise<DeviceImportOutcome[]> {
    const realm = this.#ext.realm(req.realm);
    checkStationName(req.station);
    if (typeof req.batch !== 'string' || req.batch.length === 0 || req.batch.length > 128) {
      throw new PairingError('VALIDATION', 422, 'Invalid batch', { fields: { batch: ['must be 1 to 128 characters'] } });
    }
    const devices = normalize(req.devices);
    const now = this.#ext.now().toISOString();
    // One transaction for the chunk: a cut connection leaves all of it or none of it.
    return this.#ext.write((tx) => {
      const out: DeviceImportOutcome[] = [];
      let known = tx.countDevices(realm.name);
      for (const d of devices) {
        const existing = tx.getDevice(realm.name, d.deviceId);
        let outcome: DeviceImportOutcome;
        if (existing?.secretHash === d.secretHash) {
          outcome = { deviceId: d.deviceId, result: 'already_present' };
        } else if (existing?.firstCredentialsRequestAt) {
          outcome = {
            deviceId: d.deviceId,
            result: 'conflict',
            reason: 'already confirmed: the device obtained credentials with another secret',
          };
        } else if (existing?.secretHash && this.#s.lastHash.get(realm.name, req.station, d.deviceId) !== existing.secretHash) {
          outcome = {
            deviceId: d.deviceId,
            result: 'conflict',
            reason: 'registered elsewhere with another secret',
          };
        } else if (!existing && realm.deviceRegistrationLimit !== undefined && known >= realm.deviceRegistrationLimit) {
          outcome = {
            deviceId: d.deviceId,
            result: 'conflict',
            reason: `the realm's device registration limit (${realm.deviceRegistrationLimit}) has been reached`,
          };
        } else {
          const base = existing ?? emptyDevice(realm.name, d.deviceId);
          if (!existing) known++;
          tx.putDevice({
            ...base,
            secretHash: d.secretHash,
            inhibited: false,
            firstRegistrationAt: base.firstRegistrationAt ?? d.registeredAt,
            lastRegistrationAt: d.registeredAt,
          });
          outcome = { deviceId: d.deviceId, result: 'imported' };
        }
        // A re-sent device already imported keeps `imported` as its record (what QA wants to see).
        this.#s.put.run(
          realm.name,
          req.station,
          d.deviceId,
          req.batch,
          d.operator ?? null,
          d.hardwareSerial ?? null,
          d.registeredAt,
          d.secretHash,
          outcome.result === 'already_present' ? 'imported' : outcome.result,
          outcome.reason ?? null,
          now,
        );
        out.push(outcome);
      }
      return out;
    });
  }

  /** Conflicts to resolve (one station or all), for QA. */
  conflicts(realm: string, station?: string): DeviceImportRecord[] {
    this.#ext.realm(realm);
    const rows = station ? this.#s.list.all(realm, station) : this.#s.listAll.all(realm);
    return rows.map((r) => ({
      station: r.station,
      deviceId: r.device_id,
      batch: r.batch,
      operator: r.operator ?? undefined,
      hardwareSerial: r.hardware_serial ?? undefined,
      registeredAt: r.registered_at,
      result: r.result,
      reason: r.reason ?? undefined,
    }));
  }
}
