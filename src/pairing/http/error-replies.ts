// Errors → Astarte-style answers: `{"errors":{"detail":"..."}}`, or per-field lists with 422.
// Where Astarte answers 500 (inhibited device, registration limit, malformed device id) the
// domain's PairingError already carries a clear 4xx; anything unexpected is a 500 without details.
import type { FastifyError } from 'fastify';
import { ImprintError } from '../../common/errors.ts';
import { PairingError, type PairingErrorCode } from '../pairing-api.ts';

export interface ErrorAnswer {
  status: number;
  body: { errors: Record<string, string | string[]> };
  /** Machine-readable code, sent as the `x-imprint-error` header (Astarte bodies stay unchanged). */
  code: string;
}

/** Default status and Astarte detail text of each code, for errors that arrive without them. */
const DEFAULTS: Partial<Record<PairingErrorCode, [number, string]>> = {
  REALM_NOT_FOUND: [403, 'Forbidden'],
  MISSING_TOKEN: [401, 'Missing authorization token'],
  INVALID_TOKEN: [401, 'Invalid JWT token'],
  UNAUTHORIZED: [401, 'Unauthorized'],
  FORBIDDEN: [403, 'Forbidden'],
  DEVICE_NOT_FOUND: [404, 'Device not found'],
  ALREADY_REGISTERED: [422, 'Device already registered'],
  BAD_REQUEST: [400, 'Bad request'],
  INVALID_DEVICE_ID: [422, 'Invalid device id'],
  DEVICE_INHIBITED: [403, 'Device is inhibited: credentials are refused'],
  REGISTRATION_LIMIT: [422, 'Device registration limit reached for this realm'],
  INVALID_CSR: [422, 'Invalid CSR'],
};

/** Astarte's changeset message for a malformed device id. */
export const INVALID_DEVICE_ID_MESSAGE = 'is not a valid base64 encoded 128 bits id';

export function badRequest(): ErrorAnswer {
  return { status: 400, body: { errors: { detail: 'Bad request' } }, code: 'BAD_REQUEST' };
}

/**
 * A domain error as an answer. `idField` names the request field or path parameter holding the
 * device id, so that a malformed id reads like Astarte's changeset error on that field.
 */
export function pairingErrorAnswer(err: ImprintError, idField?: string): ErrorAnswer {
  const code = err.code as PairingErrorCode;
  const [defaultStatus, defaultDetail] = DEFAULTS[code] ?? [500, 'Internal server error'];
  const status = err instanceof PairingError ? err.status : defaultStatus;
  const fields = err instanceof PairingError ? err.fields : undefined;
  if (fields && Object.keys(fields).length > 0) return { status, body: { errors: fields }, code };
  if (code === 'INVALID_DEVICE_ID' && idField) {
    return { status, body: { errors: { [idField]: [INVALID_DEVICE_ID_MESSAGE] } }, code };
  }
  // The fixed Astarte texts win over the domain's wording, so clients that match on them keep working.
  const fixed = ['REALM_NOT_FOUND', 'FORBIDDEN', 'UNAUTHORIZED', 'DEVICE_NOT_FOUND', 'BAD_REQUEST', 'MISSING_TOKEN'];
  // INVALID_TOKEN carries Guardian's text for its status: 401 "Invalid JWT token" or 403 "Forbidden".
  const detail = fixed.includes(code) ? defaultDetail : err.message || defaultDetail;
  return { status, body: { errors: { detail } }, code };
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

/** The core's database did not answer: nothing was done, the request may be retried. */
export function unavailableAnswer(): ErrorAnswer {
  return { status: 503, body: { errors: { detail: 'Service unavailable' } }, code: 'DB_UNAVAILABLE' };
}

export function internalErrorAnswer(): ErrorAnswer {
  return { status: 500, body: { errors: { detail: 'Internal server error' } }, code: 'INTERNAL' };
}

export function isPairingLikeError(e: unknown): e is ImprintError {
  return e instanceof ImprintError && (e instanceof PairingError || e.code in DEFAULTS);
}
