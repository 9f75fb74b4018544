// The exit codes of every `imprint` command: one meaning each, whatever the command (README, "Exit
// codes"). Results that are not errors (devices failed, records pending, a broken chain, sync
// conflicts, a failed protocol rule) have their own codes; an error exits with the code its error
// code maps to in EXIT_BY_CODE, complete over every code the command line can meet.
import type { ApiErrorCode } from '../api/api-errors.ts';
import type { AuditErrorCode } from '../audit/audit-errors.ts';
import type { CommonErrorCode } from '../common/common-errors.ts';
import type { ListenFailureCode } from '../common/listen-errors.ts';
import type { DbErrorCode } from '../db/db-errors.ts';
import type { PairingErrorCode } from '../pairing/pairing-api.ts';
import type { DeviceErrorCode } from '../serial/device-error.ts';
import type { LineFaultCode } from '../station/line-faults.ts';
import type { StationErrorCode } from '../station/station-errors.ts';
import type { SyncErrorCode } from '../sync/sync-errors.ts';
import type { CliErrorCode } from './cli-errors.ts';

export const EXIT = {
  OK: 0,
  /** An error: the command could not do what it was asked (the message and its action say why). */
  ERROR: 1,
  /** Bad usage: an unknown command or option, a missing or invalid argument. */
  USAGE: 2,
  /** The audit trail (or an export) is not intact: tampered with, cut, or damaged. */
  TRAIL_BROKEN: 3,
  /** `station run`: some devices failed (each with its code in the summary and the trail). */
  DEVICES_FAILED: 4,
  /** `sync`: some devices are in conflict on the remote core (everything else was synced). */
  SYNC_CONFLICTS: 5,
  /** A fault of the station itself (storage, pairing core, agent token) stopped it, or its data cannot be used. */
  STATION_FAULT: 6,
  /** `station run | recover | status`: pending records are left to settle. */
  PENDING: 7,
  /** `device-test`: the device broke at least one rule of the device protocol. */
  RULE_FAILED: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every code an `imprint` command can meet, by the layer that decides it. */
export type CliMetCode =
  | CliErrorCode
  | CommonErrorCode
  | ListenFailureCode
  | DbErrorCode
  | DeviceErrorCode
  | StationErrorCode
  | LineFaultCode
  | AuditErrorCode
  | SyncErrorCode
  | ApiErrorCode
  | PairingErrorCode;

const { ERROR, USAGE, TRAIL_BROKEN, STATION_FAULT } = EXIT;

/** The exit code of each error code: complete, so a new code without one fails tsc. */
export const EXIT_BY_CODE: Record<CliMetCode, ExitCode> = {
  // Usage: the command line (or a value on it) is wrong.
  BAD_USAGE: USAGE,
  INVALID_ARGUMENT: USAGE,
  AUDIT_INVALID_QUERY: USAGE,
  AUDIT_INVALID_BATCH: USAGE,
  REMOTE_URL_INVALID: USAGE,
  DB_URL_INVALID: USAGE,
  VALIDATION: USAGE,
  BAD_REQUEST: USAGE,
  INVALID_REQUEST: USAGE,
  INVALID_DEVICE_ID: USAGE,
  INVALID_CSR: USAGE,
  ADMIN_PIN_WEAK: USAGE,

  // The trail is not intact.
  AUDIT_DAMAGED: TRAIL_BROKEN,

  // A fault of the station itself: its storage, its pairing core, its token, its data folder.
  STATION_STORAGE_FULL: STATION_FAULT,
  STATION_STORAGE_READONLY: STATION_FAULT,
  STATION_STORAGE_DAMAGED: STATION_FAULT,
  STATION_STORAGE_ERROR: STATION_FAULT,
  PAIRING_CORE_UNREACHABLE: STATION_FAULT,
  AGENT_TOKEN_REFUSED: STATION_FAULT,
  REGISTRATION_LIMIT_REACHED: STATION_FAULT,
  LINE_INTERRUPTED: STATION_FAULT,
  STATION_DB_UNUSABLE: STATION_FAULT,
  STATION_DATA_UNUSABLE: STATION_FAULT,
  VAULT_WRITE_FAILED: STATION_FAULT,
  AUDIT_WRITE_FAILED: STATION_FAULT,

  // Everything else is an error the message and its action explain.
  KEY_EXISTS: ERROR,
  RELOAD_FAILED: ERROR,
  FILE_UNREADABLE: ERROR,
  FILE_UNWRITABLE: ERROR,
  PORT_IN_USE: ERROR,
  PORT_DENIED: ERROR,
  BAD_ADDRESS: ERROR,
  DB_SCHEMA_TOO_NEW: ERROR,
  DB_MIGRATIONS_INVALID: ERROR,
  DB_UNAVAILABLE: ERROR,
  DB_WRITE_FAILED: ERROR,
  DB_NOT_DURABLE: ERROR,
  DB_CLOSED: ERROR,
  DB_COPY_CONFLICT: ERROR,
  ALREADY_WRITTEN: ERROR,
  LOCKED: ERROR,
  TORN: ERROR,
  NOT_ALLOWED: ERROR,
  BAD_ARGUMENT: ERROR,
  UNKNOWN_COMMAND: ERROR,
  UNSUPPORTED_VERSION: ERROR,
  UNSUPPORTED_DEVICE: ERROR,
  DEVICE_FAULT: ERROR,
  TIMEOUT: ERROR,
  DISCONNECTED: ERROR,
  PORT_ERROR: ERROR,
  USB_PORT_NOT_FOUND: ERROR,
  USB_PORT_AMBIGUOUS: ERROR,
  VAULT_KEY_INSECURE: ERROR,
  VAULT_KEY_INVALID: ERROR,
  VAULT_KEY_MISSING: ERROR,
  VAULT_RECORD_INVALID: ERROR,
  SECRET_STORE_CORRUPT: ERROR,
  BAD_CONFIG: ERROR,
  AGENT_TOKEN_MISSING: ERROR,
  REALM_KEY_ORPHANED: ERROR,
  NOT_SIGNED_IN: ERROR,
  UNKNOWN_FIXTURE: ERROR,
  NO_FIXTURE_WAITING: ERROR,
  NOTHING_TO_ACKNOWLEDGE: ERROR,
  NO_LABEL_TO_REPRINT: ERROR,
  START_NEEDS_BATCH: ERROR,
  LABEL_PRINT_FAILED: ERROR,
  SIMULATOR_ERROR: ERROR,
  AUDIT_INVALID_EVENT: ERROR,
  AUDIT_SECRET_REJECTED: ERROR,
  AUDIT_BATCH_ALREADY_OPEN: ERROR,
  AUDIT_BATCH_CLOSED: ERROR,
  AUDIT_UNKNOWN_BATCH: ERROR,
  AUDIT_NO_OPEN_BATCH: ERROR,
  AUDIT_NOT_FOUND: ERROR,
  AUDIT_OPEN_FAILED: ERROR,
  AUDIT_SIGNING_KEY: ERROR,
  AUDIT_NO_SIGNING_KEY: ERROR,
  AUDIT_VERIFY_FAILED: ERROR,
  AUDIT_READONLY: ERROR,
  AUDIT_CLOSED: ERROR,
  NO_REMOTE: ERROR,
  SYNC_UNREACHABLE: ERROR,
  SYNC_REFUSED: ERROR,
  REMOTE_QUERY_FAILED: ERROR,
  SYNC_CHAIN_MISMATCH: ERROR,
  SYNC_CHAIN_REFUSED: ERROR,
  OFFLINE_IMPORTS_UNSUPPORTED: ERROR,
  OFFLINE_CAPABILITY_UNKNOWN: ERROR,
  REMOTE_TOKEN_REFUSED: ERROR,
  REMOTE_SCOPE_MISSING: ERROR,
  STATION_NOT_ENROLLED: ERROR,
  STATION_KEY_MISMATCH: ERROR,
  ENROLMENT_UNSUPPORTED: ERROR,
  DEVICE_ALREADY_CONFIRMED: ERROR,
  ADMIN_PIN_INVALID: ERROR,
  PIN_LOCKED: ERROR,
  ADMIN_PIN_FILE_INVALID: ERROR,
  NO_PARENT: ERROR,
  KEYCHAIN_TIMEOUT: ERROR,
  KEYCHAIN_ERROR: ERROR,
  UI_NOT_BUILT: ERROR,
  UI_BUILD_LOCKED: ERROR,
  REALM_NOT_FOUND: ERROR,
  MISSING_TOKEN: ERROR,
  INVALID_TOKEN: ERROR,
  UNAUTHORIZED_PATH: ERROR,
  UNAUTHORIZED: ERROR,
  FORBIDDEN: ERROR,
  TOKEN_REFUSED: ERROR,
  NOT_ENABLED: ERROR,
  // A central audit refusing a station's chain, as a remote client meets it during a sync.
  CHAIN_CONFLICT: ERROR,
  CHAIN_INVALID: TRAIL_BROKEN,
  // The central core refusing a station (enrolment, signed imports) or a conflict resolution.
  AUDIT_SIGNATURE_INVALID: TRAIL_BROKEN,
  CONFLICT_NOT_FOUND: ERROR,
  DEVICE_NOT_FOUND: ERROR,
  ALREADY_REGISTERED: ERROR,
  DEVICE_INHIBITED: ERROR,
  REGISTRATION_LIMIT: ERROR,
  CLAIM_TOKEN_INVALID: ERROR,
  CLAIM_TOKEN_EXPIRED: ERROR,
  CLAIM_TOKEN_REVOKED: ERROR,
  CLAIM_TOKEN_WRONG_REALM: ERROR,
  CLAIM_TOKEN_USED_UP: ERROR,
  SERIAL_NOT_ALLOWED: ERROR,
  WRONG_FACTORY: ERROR,
  ALREADY_CLAIMED: ERROR,
  DEVICE_EXISTS: ERROR,
  ALREADY_SIGNED: ERROR,
  UNREACHABLE: ERROR,
  REMOTE_ERROR: ERROR,
};

/**
 * The exit code for an error code. A code outside every catalogue (an uncatalogued one of another
 * layer) keeps the exit code a command already chose for it, else 1.
 */
export function exitCodeOf(code: string | undefined, already?: number): number {
  const known = code === undefined ? undefined : (EXIT_BY_CODE as Record<string, ExitCode | undefined>)[code];
  if (known !== undefined) return known;
  return already && already !== EXIT.OK ? already : ERROR;
}
