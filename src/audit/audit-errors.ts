// Everything the audit trail can refuse or fail at: its events and queries, batches, the database
// file, the station signing key and verification. A verification that finds the chain broken is
// not an error but a verdict (ChainStatus); AUDIT_DAMAGED is the file itself being unreadable.
import { errorClass } from '../common/errors.ts';

export const AUDIT_ERRORS = {
  AUDIT_INVALID_EVENT: {
    message: 'The audit event is not valid.',
    action: 'This is a bug in the caller: the event was not recorded. Report it with the station log.',
  },
  AUDIT_SECRET_REJECTED: {
    message: 'The audit event was refused: it looks like it carries a secret.',
    action: 'Record a secret fingerprint (secretFingerprint) instead of the secret itself.',
  },
  AUDIT_INVALID_QUERY: {
    message: 'The audit query is not valid.',
    action: 'Check the filters: times as ISO dates, a limit from 1 to 10000.',
  },
  AUDIT_INVALID_BATCH: {
    message: 'A batch needs a work order and an operator.',
    action: 'Give the work order number and who opens the batch.',
  },
  AUDIT_BATCH_ALREADY_OPEN: {
    message: 'A batch is already open on this station.',
    action: 'Close it first (Batches, F3, or imprint batch close).',
  },
  AUDIT_BATCH_CLOSED: {
    message: 'The batch is already closed.',
    action: 'Open a new batch for the work order.',
  },
  AUDIT_UNKNOWN_BATCH: {
    message: 'There is no such batch in the audit trail.',
    action: 'Check the batch id (imprint batch list), or open a batch first.',
  },
  AUDIT_NO_OPEN_BATCH: {
    message: 'No batch is open.',
    action: 'Open a batch first (Batches, F3, or imprint batch open).',
  },
  AUDIT_NOT_FOUND: {
    message: 'No audit trail here.',
    action: 'Pass --data DIR (the folder holding audit.db).',
  },
  AUDIT_OPEN_FAILED: {
    message: 'The audit trail cannot be opened.',
    action: 'Check --data (the folder holding audit.db) and that the file is readable and an Imprint audit trail.',
  },
  AUDIT_DAMAGED: {
    message: 'The audit trail is damaged or was tampered with.',
    action: 'Run imprint audit verify; restore the file from a backup or the copy synced upstream.',
  },
  AUDIT_WRITE_FAILED: {
    message: 'The audit trail could not commit: nothing of the write was kept.',
    action: "Check the free space and health of the disk holding the station's data folder.",
  },
  AUDIT_SIGNING_KEY: {
    message: 'The station signing key cannot be used.',
    action: 'Check the file permissions, or move the broken file away so that a new key is created.',
  },
  AUDIT_NO_SIGNING_KEY: {
    message: 'No station signing key here: this cannot be signed.',
    action:
      'Run it on the station (or keep the key with the database); imprint audit verify needs no key, and an anchor can be kept unsigned as <seq>:<hash>.',
  },
  AUDIT_VERIFY_FAILED: {
    message: 'The verification could not be completed.',
    action: 'Run imprint audit verify again; if it repeats, report it with the station log.',
  },
  AUDIT_READONLY: {
    message: 'The audit trail was opened read-only.',
    action: 'This is a bug in the caller: report it with the station log.',
  },
  AUDIT_CLOSED: {
    message: 'The audit trail is closed.',
    action: 'This is a bug in the caller: report it with the station log.',
  },
} as const;

export type AuditErrorCode = keyof typeof AUDIT_ERRORS;

export const AuditError = errorClass('AuditError', AUDIT_ERRORS);
export type AuditError = InstanceType<typeof AuditError>;
