// Why an import was refused by this core: a station's audit chain (nothing of the request was stored, and
// the refusal says where the chain broke), an unenrolled station or key, a conflict that cannot be resolved.
// Statuses are the HTTP layer's (http/error-replies.ts).
export const IMPORT_ERRORS = {
  CHAIN_CONFLICT: {
    message: "The events do not continue the station's chain held here (a gap, or an event that differs).",
    action: 'Resume the sync from what this core holds (GET …/agent/imports/audit/STATION); if it repeats, ask QA.',
  },
  CHAIN_INVALID: {
    message: 'The station chain is broken: an event is not linked to the previous one, or its content changed.',
    action: 'Run imprint audit verify on the station: its trail was altered or is incomplete.',
  },
  STATION_NOT_ENROLLED: {
    message: 'The station is not enrolled at this core: its imports are refused.',
    action:
      'Plant IT enrols the station with its signing key (imprint station enroll --pairing URL --realm R --agent-token T), then sync again.',
  },
  STATION_KEY_MISMATCH: {
    message: 'The station id is enrolled with another signing key.',
    action:
      'Another station uses the same station id, or this station lost its key: give it a unique --station-id and enrol it; plant IT checks GET …/agent/imports/stations.',
  },
  AUDIT_SIGNATURE_INVALID: {
    message: "A batch summary in the chain does not verify under the station's enrolled key.",
    action:
      'Run imprint audit verify on the station: its trail was altered, or it was signed by another key than the one enrolled. Nothing was stored.',
  },
  CONFLICT_NOT_FOUND: {
    message: 'No import conflict of this device from this station.',
    action: 'List the conflicts (imprint sync conflicts, or GET …/agent/imports/conflicts).',
  },
  DEVICE_ALREADY_CONFIRMED: {
    message: "The device obtained credentials with the core's secret: the station's registration cannot replace it.",
    action: "Keep the core's registration (--keep core) and re-provision the device the station registered offline.",
  },
} as const satisfies Record<string, { message: string; action?: string }>;

export type ImportErrorCode = keyof typeof IMPORT_ERRORS;
