// Faults of the pairing core's certificate authority itself (its files, its lifetime, its signing threads),
// never of a device's request: each code with what happened and what plant IT does about it.
import { ImprintError } from '../../common/errors.ts';

export const CA_ERRORS = {
  CA_STORE_UNREADABLE: {
    message: 'The CA files cannot be read.',
    action: 'Check the file permissions of the pairing data directory.',
  },
  CA_STORE_UNWRITABLE: {
    message: 'The CA files cannot be written.',
    action: 'Check the permissions and free space of the pairing data directory.',
  },
  CA_KEY_INVALID: {
    message: 'The CA key file is not a usable unencrypted PEM private key (EC P-256/P-384 or RSA).',
    action:
      'Restore the key from a backup, or move the CA directory away to create a new CA (existing device certificates will then no longer verify).',
  },
  CA_KEY_MISSING: {
    message: 'The CA certificate exists but its key is missing.',
    action: 'Restore the key file; refusing to create a new key that would not match the published CA certificate.',
  },
  CA_CERT_INVALID: {
    message: 'The CA certificate file is not a valid PEM X.509 CA certificate.',
    action: 'Restore the CA certificate from a backup.',
  },
  CA_MISMATCH: {
    message: 'The CA certificate does not match the CA key.',
    action: 'Restore the matching key and certificate pair.',
  },
  CA_EXPIRED: {
    message: 'The CA certificate has expired; it cannot issue certificates',
    action: 'Plant IT renews the CA certificate for the same key (devices keep trusting it).',
  },
  CA_CLOSED: { message: 'The certificate authority was closed' },
  CA_SIGNING_FAILED: {
    message: 'A certificate signing thread stopped.',
    action: 'Retry the request; if it repeats, restart the pairing core and send its log to the developers.',
  },
} as const satisfies Record<string, { message: string; action?: string }>;

export type CaErrorCode = keyof typeof CA_ERRORS;

export class CaError extends ImprintError {
  declare readonly code: CaErrorCode;

  /** `message`: a specific sentence (naming the file) instead of the catalogue's; never key material. */
  constructor(code: CaErrorCode, message?: string, opts: { cause?: unknown } = {}) {
    const entry: { message: string; action?: string } = CA_ERRORS[code];
    super(code, message ?? entry.message, { hint: entry.action, cause: opts.cause });
    this.name = 'CaError';
  }
}
