// The pairing core's audit events (claims, claim tokens, Foundries /sign), hash-chained as station
// "pairing-core" beside the stations' events. Embedded (SQLite store): the project's audit trail in
// <data>/audit.db. Shared PostgreSQL store: a chain in the database itself (store/pg-core-audit.ts),
// so an instance keeps no state of its own and any instance may append.
import { join } from 'node:path';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEventInput } from '../audit/audit-types.ts';
import { type Logger, silentLogger } from '../common/logger.ts';

export const PAIRING_CORE_STATION = 'pairing-core';

/** Where core events are appended (AuditTrail has this shape). */
export interface CoreAuditSink {
  readonly stationId: string;
  append(e: AuditEventInput): Promise<unknown>;
  close(): void | Promise<void>;
}

export function openCoreAuditTrail(dataDir: string, logger?: Logger): AuditTrail {
  return AuditTrail.open({ file: join(dataDir, 'audit.db'), stationId: PAIRING_CORE_STATION, logger });
}

/** The store's own chain when it keeps one, else the trail in `dataDir`. */
export function openCoreAuditSink(store: { coreAudit?: CoreAuditSink }, dataDir: string, logger?: Logger): CoreAuditSink {
  return store.coreAudit ?? openCoreAuditTrail(dataDir, logger);
}

/** Appends events when a sink is configured; an audit failure is logged, never thrown at a device. */
export class CoreAudit {
  readonly #sink: CoreAuditSink | undefined;
  readonly #log: Logger;

  constructor(sink: CoreAuditSink | undefined, logger: Logger = silentLogger) {
    this.#sink = sink;
    this.#log = logger;
  }

  async record(e: Omit<AuditEventInput, 'station'>): Promise<void> {
    if (!this.#sink) return;
    try {
      await this.#sink.append({ station: this.#sink.stationId, ...e });
    } catch (err) {
      this.#log.error({ err: (err as Error).message, step: e.step }, 'pairing core audit append failed');
    }
  }
}
