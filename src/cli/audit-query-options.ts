// `imprint audit query` filters, as the CLI spells them, and the AuditQuery they mean
// (the same for the local trail and for a remote core's central audit).
import type { AuditOutcome, AuditQuery } from '../audit/audit-types.ts';

export interface AuditQueryOptions {
  device?: string;
  serial?: string;
  batch?: string;
  operator?: string;
  station?: string;
  outcome?: AuditOutcome;
  step?: string;
  from?: string;
  to?: string;
  limit?: number;
}

export function auditQueryFromOptions(o: AuditQueryOptions): AuditQuery {
  return {
    deviceId: o.device,
    hardwareSerial: o.serial,
    batchId: o.batch,
    operator: o.operator,
    station: o.station,
    outcome: o.outcome,
    step: o.step,
    from: o.from,
    to: o.to,
    limit: o.limit,
  };
}
