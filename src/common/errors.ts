// Errors as typed values: a stable code, a message for a person, and what to do. Each layer owns a
// closed catalogue of its codes (`as const`: code → message and action, in the style of
// src/station/failure-codes.ts) and one error class made from it with errorClass(); a thrower
// gives only the code and, where it helps, a detail (which file, which batch). Transports map
// codes to statuses and exit codes in complete tables of their own (src/api/web-server.ts,
// src/cli/exit-codes.ts). Never put a secret, a token or a key into any of these fields.

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class ImprintError<C extends string = string> extends Error {
  readonly code: C;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: C, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ImprintError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): { code: C; message: string; hint?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** One code of a catalogue: what happened (for a person) and, where a person acts, what to do. */
export interface ErrorEntry {
  readonly message: string;
  readonly action?: string;
}

export type ErrorCatalogue = Readonly<Record<string, ErrorEntry>>;

/** What a thrower may add to a catalogue error: which thing (never a secret), the cause, data for machines. */
export interface CatalogueErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** The message of a catalogue entry with the thrower's detail (which file, which batch…). */
export function catalogueMessage(entry: ErrorEntry, detail?: string): string {
  if (!detail) return entry.message;
  const m = entry.message;
  return m.endsWith('.') ? `${m.slice(0, -1)} (${detail}).` : `${m} (${detail})`;
}

/**
 * The error class of a layer's catalogue: `new AuditError('AUDIT_UNKNOWN_BATCH', 'batch 42')` has
 * the code, the catalogue's message with the detail, and the catalogue's action as its hint.
 */
export function errorClass<const T extends ErrorCatalogue>(name: string, catalogue: T) {
  type Code = keyof T & string;
  return class CatalogueError extends ImprintError<Code> {
    static readonly catalogue: T = catalogue;

    constructor(code: Code, detail?: string, opts: CatalogueErrorOptions = {}) {
      const entry = catalogue[code];
      super(code, catalogueMessage(entry, detail), { hint: entry.action, ...opts });
      this.name = name;
    }

    /** True for an error of this catalogue (optionally with one of `codes`). */
    static is(e: unknown, ...codes: Code[]): e is CatalogueError {
      return e instanceof CatalogueError && (codes.length === 0 || codes.includes(e.code));
    }
  };
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
