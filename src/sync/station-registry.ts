// What the station's own registry (`<data>/station.db`) tells sync, read-only: which hardware serial
// each device id belongs to (import rows and conflict lines carry it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../db/sqlite.ts';

/** device id → hardware serial, from the station's own registry (`<data>/station.db`), read-only. */
export function stationSerials(dataDir: string): Map<string, string> {
  const file = join(dataDir, 'station.db');
  if (!existsSync(file)) return new Map();
  const db = openSqlite(file, { readonly: true });
  try {
    return new Map(
      db
        .prepare<[], { device_id: string; hardware_serial: string }>('SELECT device_id, hardware_serial FROM devices')
        .all()
        .map((r) => [r.device_id, r.hardware_serial]),
    );
  } finally {
    db.close();
  }
}
