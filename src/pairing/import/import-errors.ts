// Why a station's audit chain was refused by the central audit: nothing of the request was stored, and the
// refusal says where the chain broke. Statuses are the HTTP layer's (http/error-replies.ts).
export const IMPORT_ERRORS = {
  CHAIN_CONFLICT: {
    message: "The events do not continue the station's chain held here (a gap, or an event that differs).",
    action: 'Resume the sync from what this core holds (GET …/agent/imports/audit/STATION); if it repeats, ask QA.',
  },
  CHAIN_INVALID: {
    message: 'The station chain is broken: an event is not linked to the previous one, or its content changed.',
    action: 'Run imprint audit verify on the station: its trail was altered or is incomplete.',
  },
} as const satisfies Record<string, { message: string; action?: string }>;

export type ImportErrorCode = keyof typeof IMPORT_ERRORS;
