// What Foundries-compatible POST /sign can refuse a device for: each code with what happened and what to do.
// Statuses are the HTTP layer's (http/error-replies.ts); the operator's own mistakes are in ../setup-errors.ts.
export const SIGN_ERRORS = {
  INVALID_REQUEST: {
    message: 'Invalid request.',
    action: 'Fix the request body: lmp-device-register sends a JSON object of strings.',
  },
  WRONG_FACTORY: {
    message: "The CSR's OU is not this server's factory.",
    action: 'Register the device against the server of its factory, or fix the factory name in its CSR.',
  },
  ALREADY_SIGNED: {
    message: 'The device UUID is already registered.',
    action: 'An operator re-opens it first: imprint pairing sign reopen REALM UUID.',
  },
} as const satisfies Record<string, { message: string; action?: string }>;

export type SignErrorCode = keyof typeof SIGN_ERRORS;
