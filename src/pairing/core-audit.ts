// The pairing core's audit events (claims, claim tokens, Foundries /sign) in the project's audit
// trail (<data>/audit.db, station "pairing-core"), so QA sees them beside the stations' events.
import { join } from 'node:path';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEventInput } from '../audit/audit-types.ts';
import { type Logger, silentLogger } from '../common/logger.ts';

export const PAIRING_CORE_STATION = 'pairing-core';

export function openCoreAuditTrail(dataDir: string, logger?: Logger): AuditTrail {
  return AuditTrail.open({ file: join(dataDir, 'audit.db'), stationId: PAIRING_CORE_STATION, logger });
}

/** Appends events when a trail is configured; an audit failure is logged, never thrown at a device. */
export class CoreAudit {
  readonly #trail: AuditTrail | undefined;
  readonly #log: Logger;

  constructor(trail: AuditTrail | undefined, logger: Logger = silentLogger) {
    this.#trail = trail;
    this.#log = logger;
  }

  async record(e: Omit<AuditEventInput, 'station'>): Promise<void> {
    if (!this.#trail) return;
    try {
      await this.#trail.append({ station: this.#trail.stationId, ...e });
    } catch (err) {
      this.#log.error({ err: (err as Error).message, step: e.step }, 'pairing core audit append failed');
    }
  }
}
