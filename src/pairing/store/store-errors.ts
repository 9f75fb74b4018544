// What can go wrong choosing, sharing or copying a pairing store: one closed catalogue, each code
// with what happened and what to do (database-level failures are DbError, src/db/db-errors.ts).
import { ImprintError } from '../../common/errors.ts';

export const STORE_ERRORS = {
  FLEET_KEY_MISMATCH: {
    message: "This instance's key is not the one the fleet's database recorded.",
    action:
      'Give every instance the same keys: the CA (ca/ in --data, or IMPRINT_CA_KEY_FILE and IMPRINT_CA_CERT_FILE) and claim-signing-key.pem.',
  },
  FLEET_CA_MISSING: {
    message: 'This instance has no CA, and the fleet already has one: it must sign with the same CA.',
    action:
      "Copy the fleet's CA (ca-key.pem and ca-cert.pem) into --data DIR/ca, or set IMPRINT_CA_KEY_FILE and IMPRINT_CA_CERT_FILE.",
  },
  COPY_SOURCE_MISSING: {
    message: 'The directory holds no embedded pairing store (pairing.sqlite).',
    action: 'Give --from the data directory of the embedded core (the one `imprint pairing serve --data` used).',
  },
  CORE_AUDIT_NOT_CARRIED: {
    message:
      "The core's audit events of an earlier version (audit.db in the data directory) do not verify, so they were not carried into the pairing database.",
    action:
      'Check the old trail with `imprint audit verify --data DIR` and keep a copy of it as evidence; move audit.db out of the data directory to start the chain anew.',
  },
} as const satisfies Record<string, { message: string; action: string }>;

export type StoreErrorCode = keyof typeof STORE_ERRORS;

export class StoreError extends ImprintError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, detail?: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    const entry = STORE_ERRORS[code];
    super(code, detail ? `${entry.message} ${detail}` : entry.message, { hint: entry.action, ...opts });
    this.name = 'StoreError';
  }
}
