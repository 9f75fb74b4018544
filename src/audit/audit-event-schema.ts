// What may be appended: a schema for AuditEventInput, normalization, and the secret guard.
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { canonicalDataText, canonicalJson } from './audit-canonical.ts';
import { AuditError } from './audit-errors.ts';
import type { AuditEventInput } from './audit-types.ts';
import { jsonValueProblem, wellFormed } from './canonical-check.ts';

const Name = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Opt = (max: number) => Type.Optional(Type.String({ maxLength: max }));

const AuditEventInputSchema = Type.Object(
  {
    station: Name(128),
    operator: Opt(128),
    fixture: Opt(128),
    batchId: Opt(128),
    deviceId: Opt(128),
    hardwareSerial: Opt(256),
    step: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }),
    outcome: Type.Union([Type.Literal('ok'), Type.Literal('fail'), Type.Literal('info')]),
    errorCode: Opt(64),
    message: Opt(2000),
    durationMs: Type.Optional(Type.Number({ minimum: 0, maximum: 1e12 })),
    secretFingerprint: Opt(128),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
const checkInput = Compile(AuditEventInputSchema);

/** Steps only the trail itself appends. */
export const RESERVED_STEPS = new Set(['batch-open', 'batch-close']);
/** The one event per device that counts it as passed (ok) or failed (fail, with errorCode). */
export const RECORD_STEP = 'record';

const MAX_DATA_BYTES = 16 * 1024;

// Key names that smell like a secret; `…fingerprint` keys are allowed (a fingerprint is not a secret).
const SECRET_KEY = /secret|token|passw(or)?d|passphrase|private_?key|api_?key|^pin$|^authorization$|^credentials?$/;

/** Throws AUDIT_SECRET_REJECTED when `data` (at any depth) holds a key named like a secret. */
export function assertNoSecretKeys(data: unknown, path = 'data'): void {
  if (Array.isArray(data)) {
    data.forEach((v, i) => {
      assertNoSecretKeys(v, `${path}[${i}]`);
    });
    return;
  }
  if (data === null || typeof data !== 'object') return;
  for (const [k, v] of Object.entries(data)) {
    const norm = k.toLowerCase().replace(/-/g, '_');
    if (SECRET_KEY.test(norm) && !norm.endsWith('fingerprint')) {
      // The key name is safe to show; the value never is.
      throw new AuditError('AUDIT_SECRET_REJECTED', `${path}.${k}`);
    }
    assertNoSecretKeys(v, `${path}.${k}`);
  }
}

/** Validates and normalizes an input: empty strings dropped, data made canonical. Throws AUDIT_INVALID_EVENT. */
export function normalizeInput(input: AuditEventInput): AuditEventInput {
  if (!checkInput.Check(input)) {
    const first = [...checkInput.Errors(input)][0];
    const where = first?.instancePath ? first.instancePath.slice(1) : 'event';
    throw new AuditError('AUDIT_INVALID_EVENT', `${where} ${first?.message ?? 'is malformed'}`);
  }
  if (input.data !== undefined) assertNoSecretKeys(input.data);
  if (input.step === RECORD_STEP) {
    if (input.outcome === 'info') throw new AuditError('AUDIT_INVALID_EVENT', 'a record event needs outcome ok or fail');
    if (input.outcome === 'fail' && !input.errorCode)
      throw new AuditError('AUDIT_INVALID_EVENT', 'a failed record event needs an errorCode');
  }
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = input[k as keyof AuditEventInput];
    if (v === undefined || v === '') continue;
    if (k !== 'data') {
      out[k] = typeof v === 'string' ? wellFormed(v) : v;
      continue;
    }
    let text: string;
    try {
      text = canonicalJson(v);
    } catch (e) {
      throw new AuditError('AUDIT_INVALID_EVENT', 'data is not plain JSON', { cause: e });
    }
    if (Buffer.byteLength(text) > MAX_DATA_BYTES)
      throw new AuditError('AUDIT_INVALID_EVENT', `data is larger than ${MAX_DATA_BYTES} bytes`);
    // What verify accepts (canonical-check.ts), so that nothing appended can fail it later.
    const problem = jsonValueProblem(text, { object: true });
    if (problem) throw new AuditError('AUDIT_INVALID_EVENT', `data ${problem}`);
    const data = JSON.parse(text);
    // The body splices this text in as it is (serialised once, not again when sealed).
    canonicalDataText.set(data, text);
    out.data = data;
  }
  return out as unknown as AuditEventInput;
}
