// Errors → Astarte-style answers: `{"errors":{"detail":"..."}}`, or per-field lists with 422. The status of
// every code a pairing core answers lives here, in one complete table (tsc refuses a missing or a dead
// entry); the domain's errors carry only their code. Where Astarte answers 500 (inhibited device,
// registration limit, malformed device id) we answer a clear 4xx; anything unexpected is a 500 without details.
import type { FastifyError } from 'fastify';
import { isDbError } from '../../db/db-errors.ts';
import { type PairingCode, PairingError } from '../pairing-errors.ts';

export interface ErrorAnswer {
  status: number;
  body: { errors: Record<string, string | string[]> };
  /** Machine-readable code, sent as the `x-imprint-error` header (Astarte bodies stay unchanged). */
  code: string;
}

/**
 * Each code's status and, where Astarte answers a fixed text whatever happened, that text (clients match on
 * it); without one, the error's own message is the detail.
 */
export const HTTP_ANSWERS: Readonly<Record<PairingCode, { status: number; detail?: string }>> = {
  // Astarte's Pairing API.
  REALM_NOT_FOUND: { status: 403, detail: 'Forbidden' }, // Astarte does not reveal which realms exist
  MISSING_TOKEN: { status: 401, detail: 'Missing authorization token' },
  INVALID_TOKEN: { status: 401, detail: 'Invalid JWT token' },
  TOKEN_REFUSED: { status: 403, detail: 'Forbidden' }, // Guardian's claim failures fall to Astarte's catch-all
  UNAUTHORIZED_PATH: { status: 403 },
  UNAUTHORIZED: { status: 401, detail: 'Unauthorized' },
  FORBIDDEN: { status: 403, detail: 'Forbidden' },
  DEVICE_NOT_FOUND: { status: 404, detail: 'Device not found' },
  NOT_ENABLED: { status: 404, detail: 'Page not found' },
  ALREADY_REGISTERED: { status: 422, detail: 'Device already registered' },
  INVALID_DEVICE_ID: { status: 422 }, // Astarte: 500
  DEVICE_INHIBITED: { status: 403 }, // Astarte: 500
  REGISTRATION_LIMIT: { status: 422 }, // Astarte: 500
  DEVICE_EXISTS: { status: 409 },
  INVALID_CSR: { status: 422 },
  VALIDATION: { status: 422 },
  BAD_REQUEST: { status: 400, detail: 'Bad request' },
  // Claims.
  CLAIM_TOKEN_INVALID: { status: 401 },
  CLAIM_TOKEN_EXPIRED: { status: 401 },
  CLAIM_TOKEN_REVOKED: { status: 403 },
  CLAIM_TOKEN_WRONG_REALM: { status: 403 },
  CLAIM_TOKEN_USED_UP: { status: 403 },
  SERIAL_NOT_ALLOWED: { status: 403 },
  ALREADY_CLAIMED: { status: 409 },
  // Foundries /sign.
  INVALID_REQUEST: { status: 400 },
  WRONG_FACTORY: { status: 403 },
  ALREADY_SIGNED: { status: 409 },
  // Central audit.
  CHAIN_CONFLICT: { status: 409 },
  CHAIN_INVALID: { status: 422 },
  // Enrolled stations and conflicts.
  STATION_NOT_ENROLLED: { status: 403 },
  STATION_KEY_MISMATCH: { status: 409 },
  AUDIT_SIGNATURE_INVALID: { status: 422 },
  CONFLICT_NOT_FOUND: { status: 404 },
  DEVICE_ALREADY_CONFIRMED: { status: 409 },
};

/** Astarte's changeset message for a malformed device id. */
export const INVALID_DEVICE_ID_MESSAGE = 'is not a valid base64 encoded 128 bits id';

export function badRequest(): ErrorAnswer {
  return { status: 400, body: { errors: { detail: 'Bad request' } }, code: 'BAD_REQUEST' };
}

/**
 * A domain error as an answer (undefined: not a code a core answers). `idField` names the request field or path parameter holding the
 * device id, so that a malformed id reads like Astarte's changeset error on that field.
 */
export function pairingErrorAnswer(err: PairingError, idField?: string): ErrorAnswer | undefined {
  const code = err.code;
  // A remote client's own failure (UNREACHABLE, REMOTE_ERROR) never comes out of a core: a bug if it does.
  if (!Object.hasOwn(HTTP_ANSWERS, code)) return undefined;
  const { status, detail } = HTTP_ANSWERS[code as PairingCode];
  const fields = err.fields;
  if (fields && Object.keys(fields).length > 0) return { status, body: { errors: fields }, code };
  if (code === 'INVALID_DEVICE_ID' && idField) {
    return { status, body: { errors: { [idField]: [INVALID_DEVICE_ID_MESSAGE] } }, code };
  }
  return { status, body: { errors: { detail: detail ?? err.message } }, code };
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

/**
 * Fastify validation errors → Astarte's answers: a body that is not `{"data": {...}}` is 400
 * "Bad request" (Astarte's controllers pattern-match on `data`); problems inside `data` are
 * 422 `{"errors": {field: ["can't be blank" | "is invalid"]}}`, like Ecto changesets.
 */
export function validationAnswer(err: FastifyError): ErrorAnswer {
  const errors = (err.validation ?? []) as AjvError[];
  if (err.validationContext !== 'body') return badRequest();
  const fields: Record<string, string[]> = {};
  for (const e of errors) {
    // JSON pointer segments (an interface name may hold "/" or "~").
    const path = e.instancePath
      .split('/')
      .filter(Boolean)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (path[0] !== 'data') return badRequest();
    let field = path[1];
    let message = 'is invalid';
    if (field === 'initial_introspection' && path.length >= 3) {
      // Astarte's DeviceRegistrationRequest changeset messages, per interface.
      message =
        e.keyword === 'minimum' ? `has negative versions in interface ${path[2]}` : `has invalid format for interface ${path[2]}`;
    } else if (field === undefined && e.keyword === 'required') {
      field = String(e.params.missingProperty);
      message = "can't be blank";
    } else if (field === undefined) {
      return badRequest();
    } else if (path.length === 2 && e.keyword === 'minLength') {
      message = "can't be blank";
    }
    const list = fields[field] ?? [];
    if (!list.includes(message)) list.push(message);
    fields[field] = list;
  }
  if (Object.keys(fields).length === 0) return badRequest();
  return { status: 422, body: { errors: fields }, code: 'VALIDATION' };
}

/** Fastify's own client errors (bad JSON, empty body, too large, wrong content type). */
export function frameworkAnswer(err: FastifyError): ErrorAnswer | undefined {
  const status = err.statusCode ?? 500;
  if (status >= 500) return undefined;
  if (status === 413) return { status, body: { errors: { detail: 'Request entity too large' } }, code: 'BAD_REQUEST' };
  if (status === 415) return { status, body: { errors: { detail: 'Unsupported media type' } }, code: 'BAD_REQUEST' };
  return { ...badRequest(), status: status === 404 ? 404 : 400 };
}

/**
 * What the core's own errors answer, for every HTTP front end (the Fastify server and the /sign port): a
 * domain error its code's status, the database away 503. Undefined: not one of them (a fault, or the
 * front end's own error).
 */
export function coreErrorAnswer(err: unknown, idField?: string): ErrorAnswer | undefined {
  if (err instanceof PairingError) return pairingErrorAnswer(err, idField);
  if (isDbError(err, 'DB_UNAVAILABLE')) return unavailableAnswer();
  return undefined;
}

/** The core's database did not answer: nothing was done, the request may be retried. */
export function unavailableAnswer(): ErrorAnswer {
  return { status: 503, body: { errors: { detail: 'Service unavailable' } }, code: 'DB_UNAVAILABLE' };
}

export function internalErrorAnswer(): ErrorAnswer {
  return { status: 500, body: { errors: { detail: 'Internal server error' } }, code: 'INTERNAL' };
}
