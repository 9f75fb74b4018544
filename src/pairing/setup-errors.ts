// Mistakes in setting up or administering the pairing core (keys, scopes, URLs, claim tokens, /sign
// re-opening), made by plant IT at a command line or in code, never by a device: each code with what
// happened and what to do. What a device's request is refused for is in pairing-errors.ts; the CA's own
// faults in ca/ca-errors.ts; the store's in store/store-errors.ts.
import { ImprintError } from '../common/errors.ts';

export const SETUP_ERRORS = {
  INVALID_ARGUMENT: { message: 'Invalid argument.', action: 'Correct the value the message names.' },
  INVALID_SCOPE: {
    message: 'Invalid agent token scope.',
    action: 'Write each --scope as METHOD::PATH, two regular expressions (e.g. POST::agent/devices).',
  },
  INVALID_KEY: { message: 'Not a usable PEM key.', action: 'Give the key file imprint pairing keygen wrote.' },
  UNSUPPORTED_KEY: {
    message: 'Unsupported key type.',
    action: 'Use an RSA or EC (P-256, P-384, P-521) key: imprint pairing keygen makes one.',
  },
  INVALID_URL: { message: 'Invalid pairing URL.', action: 'Give an http(s) URL without user or password.' },
  CLIENT_CLOSED: { message: 'The pairing client is closed' },
  UNSUPPORTED_SECRET_HASH: {
    message: 'Unsupported credentials secret hash format',
    action: 'Expected $imprint-sha256$v=1$… or a bcrypt $2b$ hash',
  },
  CLAIM_KEY_INVALID: {
    message: 'The claim-signing key is not usable.',
    action: "Restore the fleet's claim-signing-key.pem (an EC P-256 PEM private key) from its backup.",
  },
  CLAIM_KEY_UNREADABLE: {
    message: 'The claim-signing key cannot be read or created.',
    action: 'Check the permissions and free space of the pairing data directory.',
  },
  CLAIM_TOKEN_NOT_FOUND: {
    message: 'No such claim token in this realm.',
    action: 'List the realm’s tokens: imprint pairing claim-token list REALM.',
  },
  CLAIM_TOKEN_ALREADY_REVOKED: { message: 'The claim token was already revoked.' },
  SIGN_REALM_WITHOUT_FACTORY: {
    message: 'The realm has no factory name: /sign needs one.',
    action: 'Create the /sign realm with its factory: imprint pairing realm create NAME --factory FACTORY …',
  },
  SIGN_NOT_FOUND: {
    message: 'No /sign registration of this UUID in the realm.',
    action: 'Check the UUID (the CN of the device’s CSR) and the realm.',
  },
  SIGN_ALREADY_REOPENED: { message: 'The UUID is already re-opened: it may register once more through /sign.' },
} as const satisfies Record<string, { message: string; action?: string }>;

export type SetupErrorCode = keyof typeof SETUP_ERRORS;

export class PairingSetupError extends ImprintError {
  declare readonly code: SetupErrorCode;

  /** `message`: a specific sentence (naming the file, realm or value) instead of the catalogue's; never a secret. */
  constructor(code: SetupErrorCode, message?: string, opts: { cause?: unknown } = {}) {
    const entry: { message: string; action?: string } = SETUP_ERRORS[code];
    super(code, message ?? entry.message, { hint: entry.action, cause: opts.cause });
    this.name = 'PairingSetupError';
  }
}
