// The core's own decisions on imports (refused imports and enrolments, resolved conflicts), audited in the
// central audit beside the stations' chains: one hash chain held by the core, station
// IMPORT_DECISIONS_STATION, sealed inside the store's append transaction like any station's events,
// so `GET …/agent/audit/events?station=pairing-core-imports` shows them and any verifier can check them.
import { sealEvent } from '../../audit/audit-canonical.ts';
import { normalizeInput } from '../../audit/audit-event-schema.ts';
import type { AuditEventInput } from '../../audit/audit-types.ts';
import { GENESIS_HASH } from '../../audit/chain-link.ts';
import { type Logger, silentLogger } from '../../common/logger.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';

/** The chain of the core's import decisions (no station may enrol under a `pairing-core` name). */
export const IMPORT_DECISIONS_STATION = 'pairing-core-imports';

export type ImportDecisionStep = 'import-refused' | 'conflict-resolve';

export class ImportDecisions {
  readonly #ext: PairingCoreExtension;
  readonly #log: Logger;

  constructor(ext: PairingCoreExtension, logger: Logger = silentLogger) {
    this.#ext = ext;
    this.#log = logger.child({ component: 'import-decisions' });
  }

  /**
   * Appends one event. A failure to audit is logged and never hides the decision from the caller
   * (a refusal stays a refusal); never give it a secret or a secret hash.
   */
  async record(realm: string, e: Omit<AuditEventInput, 'station' | 'step'> & { step: ImportDecisionStep }): Promise<void> {
    const at = this.#ext.now().toISOString();
    try {
      await this.#ext.store.centralAudit.append(
        realm,
        IMPORT_DECISIONS_STATION,
        [],
        (stored) => {
          const seq = (stored?.lastSeq ?? 0) + 1;
          // Sealed afresh on each call: a PostgreSQL transaction may run the planner again.
          const input = normalizeInput({ ...e, data: e.data && { ...e.data }, station: IMPORT_DECISIONS_STATION });
          const { event, body } = sealEvent(input, seq, at, stored?.lastHash ?? GENESIS_HASH);
          return {
            rows: [
              {
                seq,
                hash: event.hash,
                body,
                ts: at,
                deviceId: event.deviceId ?? null,
                hardwareSerial: event.hardwareSerial ?? null,
                batchId: event.batchId ?? null,
                operator: event.operator ?? null,
                step: event.step,
                outcome: event.outcome,
              },
            ],
            head: { station: IMPORT_DECISIONS_STATION, lastSeq: seq, lastHash: event.hash },
          };
        },
        at,
      );
    } catch (err) {
      this.#log.error({ err: (err as Error).message, step: e.step }, 'import decision audit append failed');
    }
  }
}
