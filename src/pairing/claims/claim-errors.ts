// What a device's claim can be refused for (POST /v1/{realm}/claims): each code with what happened and what
// the person holding the device or the token does about it. Statuses are the HTTP layer's
// (http/error-replies.ts); plant IT's own mistakes with claim tokens are in ../setup-errors.ts.
export const CLAIM_ERRORS = {
  CLAIM_TOKEN_INVALID: {
    message: 'Invalid claim token.',
    action: "Give the device a claim token minted by this pairing core's plant IT (imprint pairing claim-token create).",
  },
  CLAIM_TOKEN_EXPIRED: {
    message: 'The claim token has expired: ask plant IT for a new one',
    action: 'Ask plant IT for a new claim token.',
  },
  CLAIM_TOKEN_REVOKED: {
    message: 'The claim token has been revoked',
    action: 'Ask plant IT for a new claim token.',
  },
  CLAIM_TOKEN_WRONG_REALM: {
    message: 'The claim token was minted for another realm.',
    action: "Send the claim to the token's own realm (its url claim), or use a token of this realm.",
  },
  CLAIM_TOKEN_USED_UP: {
    message: 'The claim token has no use left.',
    action: 'Ask plant IT for a new claim token (or one with more --max-uses).',
  },
  SERIAL_NOT_ALLOWED: {
    message: 'The manufacturer id is not allowed by this claim token.',
    action: "Check the device's manufacturer id against the token's serial pattern.",
  },
  ALREADY_CLAIMED: {
    message: 'The manufacturer id was already claimed.',
    action: 'A manufacturer id registers once: set the device aside for QA if it was not claimed by itself.',
  },
} as const satisfies Record<string, { message: string; action?: string }>;

export type ClaimErrorCode = keyof typeof CLAIM_ERRORS;
