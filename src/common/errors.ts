// Errors as typed values: a stable code, a message for a person, an optional suggested action.
// Never put a secret, a token or a key into any of these fields.

export class ImprintError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ImprintError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isImprintError(e: unknown): e is ImprintError {
  return e instanceof ImprintError;
}

/** A one-line description of any thrown value, safe to print to a user. */
export function describeError(e: unknown): string {
  if (e instanceof ImprintError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
