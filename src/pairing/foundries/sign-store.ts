// The /sign store contract: one record per device UUID, kept across re-registrations (the reference
// server's only record is one overwritten file). `sign` checks and records in one transaction with
// the device row and its certificates, so a UUID registers once even when two instances race.
// Engines: store/sqlite-signs.ts, store/pg-signs.ts.
import type { CoreEvent } from '../core-audit.ts';

export interface SignRecord {
  realm: string;
  uuid: string;
  deviceId: string;
  name: string | null;
  hardwareId: string | null;
  certificateSerial: string;
  publicKeySha256: string;
  signedAt: string;
  signings: number;
  state: 'signed' | 'reopened';
  reopenedAt: string | null;
}

export interface SignRequest {
  realm: string;
  uuid: string;
  deviceId: string;
  name: string | null;
  hardwareId: string;
  serialHex: string;
  publicKeySha256: string;
  notAfter: string;
  at: string;
  /**
   * The core's audit event of this registration, sealed in the same transaction by a store whose
   * coreAudit seals in writes (SQLite); other stores ignore it (the service records it after).
   */
  event?: (signings: number) => CoreEvent;
}

export type SignOutcome =
  | { kind: 'signed'; signings: number }
  | { kind: 'already_signed'; signedAt: string }
  | { kind: 'device_exists' }
  | { kind: 'limit' };

export type ReopenOutcome =
  | { kind: 'reopened'; record: SignRecord }
  | { kind: 'not_found' }
  | { kind: 'already_reopened'; reopenedAt: string | null };

export interface SignStore {
  get(realm: string, uuid: string): Promise<SignRecord | undefined>;
  /**
   * Records a /sign registration: the certificate (revoking the device's previous one), the device
   * row (confirmed) and the UUID's record, unless the UUID is already signed (and not re-opened), its
   * device id belongs to a device /sign did not register, or it is a new device beyond the realm's limit.
   */
  sign(r: SignRequest): Promise<SignOutcome>;
  /**
   * signRefusal over the UUID's record and whether `deviceId` exists, read as one snapshot: /sign's
   * check before the costly signing (the transaction of `sign` decides). Optional: without it the
   * service reads both itself.
   */
  refusal?(realm: string, uuid: string, deviceId: string): Promise<Exclude<SignOutcome, { kind: 'signed' }> | undefined>;
  reopen(realm: string, uuid: string, at: string): Promise<ReopenOutcome>;
}

/** The rules of /sign over what the transaction read: shared by both engines. undefined: proceed. */
export function signRefusal(
  record: Pick<SignRecord, 'state' | 'signedAt'> | undefined,
  deviceExists: boolean,
): Exclude<SignOutcome, { kind: 'signed' }> | undefined {
  if (record?.state === 'signed') return { kind: 'already_signed', signedAt: record.signedAt };
  if (!record && deviceExists) return { kind: 'device_exists' };
  return undefined;
}
