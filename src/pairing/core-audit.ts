// The pairing core's audit events (claims, claim tokens, Foundries /sign), hash-chained as station
// "pairing-core". The chain lives in the pairing store itself: on SQLite in the same transaction as
// the write it records (store/sqlite-core-audit.ts: one durable commit per request), on a shared
// PostgreSQL store in its own transaction (store/pg-core-audit.ts), so an instance keeps no state of
// its own. A standalone trail file (openCoreAuditTrail) remains for tools and tests.
import { join } from 'node:path';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEventInput } from '../audit/audit-types.ts';
import { type Logger, silentLogger } from '../common/logger.ts';

export const PAIRING_CORE_STATION = 'pairing-core';

/** An event as a service builds it (the sink adds its station). */
export type CoreEvent = Omit<AuditEventInput, 'station'>;

/** Where core events are appended (AuditTrail has this shape). */
export interface CoreAuditSink {
  readonly stationId: string;
  /** True when the store this sink belongs to seals a write's event inside that write (SQLite). */
  readonly sealsInWrites?: boolean;
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

  /**
   * True when `store` seals the event of a claim or /sign inside that write's own transaction (its
   * `event` hook): the service then must not record it again. Only for the store's own chain.
   */
  sealedBy(store: { coreAudit?: CoreAuditSink }): boolean {
    return this.#sink !== undefined && this.#sink === store.coreAudit && this.#sink.sealsInWrites === true;
  }

  async record(e: CoreEvent): Promise<void> {
    if (!this.#sink) return;
    try {
      await this.#sink.append({ station: this.#sink.stationId, ...e });
    } catch (err) {
      this.#log.error({ err: (err as Error).message, step: e.step }, 'pairing core audit append failed');
    }
  }
}
