// Why a pairing core refuses a request: one closed catalogue per feature (this file: Astarte's Pairing API;
// claims, /sign and the central audit have theirs), each code with what happened and, where a person acts,
// what to do. A PairingError carries only its code and non-secret details (a specific message, per-field
// messages). The HTTP layer owns each code's status and Astarte's fixed texts (http/error-replies.ts, one
// complete table); the remote client reads them back (remote-client.ts).
import { ImprintError } from '../common/errors.ts';
import { CLAIM_ERRORS } from './claims/claim-errors.ts';
import { SIGN_ERRORS } from './foundries/sign-errors.ts';
import { IMPORT_ERRORS } from './import/import-errors.ts';

type Catalogue = Record<string, { message: string; action?: string }>;

/** Astarte's Pairing API: agent and device routes. */
export const CORE_ERRORS = {
  REALM_NOT_FOUND: {
    message: 'The realm is unknown to the pairing core.',
    action: 'Check the realm name (imprint pairing realm list).',
  },
  MISSING_TOKEN: {
    message: 'Missing authorization token',
    action: 'Send the agent token as "Authorization: Bearer <jwt>" (imprint pairing token).',
  },
  INVALID_TOKEN: {
    message: 'Invalid JWT token',
    action: "Mint the agent token with the realm's private key (imprint pairing token), RS*, PS* or ES* only.",
  },
  TOKEN_REFUSED: {
    message: 'The agent token is expired, not yet valid, or issued in the future.',
    action: 'Mint a new agent token, and check the clocks of the machine that minted it and of the core.',
  },
  UNAUTHORIZED_PATH: {
    message: "The agent token's a_pa claim does not allow this request.",
    action: 'Mint a token whose --scope covers this METHOD::PATH.',
  },
  UNAUTHORIZED: {
    message: 'The device request carries no credentials secret.',
    action: 'Send the credentials secret as "Authorization: Bearer <secret>".',
  },
  FORBIDDEN: {
    message: 'The credentials secret is not the device’s current one.',
    action: 'Register the device again to get a new secret (it works until its first credentials request).',
  },
  DEVICE_NOT_FOUND: { message: 'Device not found' },
  NOT_ENABLED: {
    message: 'This route is not enabled on this server.',
    action: 'Enable it where the server starts (e.g. imprint pairing serve --sign-realm REALM for /sign).',
  },
  ALREADY_REGISTERED: {
    message: 'Device already registered',
    action: 'The device requested credentials already: unregister it first to register it again.',
  },
  INVALID_DEVICE_ID: { message: 'Invalid device id: expected 128 bits as 22 base64url characters.' },
  DEVICE_INHIBITED: {
    message: 'Device is inhibited: credentials requests are refused',
    action: 'Plant IT lifts the inhibition (imprint pairing device inhibit REALM ID --off) or registers the device again.',
  },
  REGISTRATION_LIMIT: {
    message: "The realm's device registration limit has been reached",
    action: "Plant IT raises the realm's registration limit.",
  },
  DEVICE_EXISTS: {
    message: 'The device id is already known to the realm: it is never taken over.',
    action: 'Set the device aside for QA: a device with this id is already registered.',
  },
  INVALID_CSR: { message: 'Invalid CSR', action: 'Send one PEM CSR signed by the key it carries (EC P-256/P-384 or RSA).' },
  VALIDATION: { message: 'Invalid request fields.' },
  BAD_REQUEST: { message: 'Bad request' },
} as const satisfies Catalogue;

/** The remote client's own: the core did not answer, or answered something no core answers. */
export const REMOTE_ERRORS = {
  UNREACHABLE: {
    message: 'The pairing core did not answer.',
    action: 'Check the pairing URL and the network; the core may be down.',
  },
  REMOTE_ERROR: {
    message: 'The pairing core answered with an error or something unreadable.',
    action: "Tell plant IT: the pairing core's log says why.",
  },
} as const satisfies Catalogue;

/** Every code a pairing core answers (what its HTTP layer maps to statuses). */
export const PAIRING_CODES = { ...CORE_ERRORS, ...CLAIM_ERRORS, ...SIGN_ERRORS, ...IMPORT_ERRORS } as const;
export type PairingCode = keyof typeof PAIRING_CODES;
export type RemoteErrorCode = keyof typeof REMOTE_ERRORS;
/** What a PairingClient throws: a core's answer, or the remote client's own failure. */
export type PairingErrorCode = PairingCode | RemoteErrorCode;

const ENTRIES: Readonly<Record<PairingErrorCode, { message: string; action?: string }>> = {
  ...PAIRING_CODES,
  ...REMOTE_ERRORS,
};

export function isPairingCode(code: unknown): code is PairingCode {
  return typeof code === 'string' && Object.hasOwn(PAIRING_CODES, code);
}

export interface PairingErrorOptions {
  /** A specific message instead of the catalogue's (never a secret). */
  message?: string;
  /** Per-field messages, as Astarte's changesets give them. */
  fields?: Record<string, string[]>;
  /** The status a remote core answered (remote client only). */
  remoteStatus?: number;
  cause?: unknown;
}

export class PairingError extends ImprintError {
  declare readonly code: PairingErrorCode;

  constructor(code: PairingErrorCode, opts: PairingErrorOptions = {}) {
    const entry = ENTRIES[code];
    const details: Record<string, unknown> = {};
    if (opts.fields) details.fields = opts.fields;
    if (opts.remoteStatus !== undefined) details.remoteStatus = opts.remoteStatus;
    super(code, opts.message ?? entry.message, {
      hint: entry.action,
      cause: opts.cause,
      details: Object.keys(details).length > 0 ? details : undefined,
    });
    this.name = 'PairingError';
  }

  get fields(): Record<string, string[]> | undefined {
    return this.details?.fields as Record<string, string[]> | undefined;
  }

  get remoteStatus(): number | undefined {
    return this.details?.remoteStatus as number | undefined;
  }
}
