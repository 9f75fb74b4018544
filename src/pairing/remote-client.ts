// PairingClient over HTTP: Astarte's Pairing API as served by `imprint pairing serve` or by a
// real Astarte (base URL e.g. https://api.astarte.example.com/pairing). Typed errors, timeouts,
// and retries only where a repeat cannot change the outcome.
//
// Retry policy:
// - getInfo and verifyCredentials are reads: retried on connection errors, timeouts, 502/503/504.
// - registerDevice, unregisterDevice and requestCredentials are retried only when the connection
//   was refused (the request never reached the server). Registration is harmless to repeat in
//   Astarte's semantics (each one issues a new secret, the old one stops working, until first
//   use), but after a timeout the first attempt may still be in flight and land after the retry,
//   leaving the caller with a secret that no longer works. The station re-registers at its level
//   when it needs to, with the full picture.
import type { DeviceInfo, PairingClient, RegisterOptions, VerifyCause, VerifyResult } from './pairing-api.ts';
import { isPairingCode, PairingError, type PairingErrorCode } from './pairing-errors.ts';
import { PairingSetupError } from './setup-errors.ts';

export interface RemotePairingClientOptions {
  /** Where the API lives, without /v1 (e.g. http://127.0.0.1:4003 or https://astarte.example.com/pairing). */
  baseUrl: string;
  /** Agent JWT for the agent API (register, unregister). Device calls use the device's secret. */
  agentToken?: string;
  /** Per attempt, default 10 s. */
  timeoutMs?: number;
  /** Extra attempts where retrying is safe (see above), default 2. */
  retries?: number;
  /** First backoff delay, doubled each retry, default 100 ms. */
  retryDelayMs?: number;
}

type Api = 'agent' | 'device';

interface CallSpec {
  api: Api;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  bearer: string | undefined;
  body?: unknown;
  /** true: retry on any transport failure; false: only when the connection was refused. */
  idempotent: boolean;
  operation: string;
}

/** Errors that prove the request never reached a server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function transportCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class RemotePairingClient implements PairingClient {
  readonly kind = 'remote' as const;
  readonly url: string;
  readonly #agentToken: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  #closed = false;

  constructor(opts: RemotePairingClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.baseUrl);
    } catch {
      throw new PairingSetupError('INVALID_URL', `Not a valid pairing URL: ${opts.baseUrl}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new PairingSetupError('INVALID_URL', `Pairing URL must be http or https: ${parsed.origin}`);
    }
    if (parsed.username || parsed.password) throw new PairingSetupError('INVALID_URL', 'Pairing URL must not carry credentials');
    this.url = parsed.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
    this.#agentToken = opts.agentToken;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#retries = Math.max(0, opts.retries ?? 2);
    this.#retryDelayMs = opts.retryDelayMs ?? 100;
  }

  async registerDevice(realm: string, hwId: string, opts: RegisterOptions = {}): Promise<{ credentialsSecret: string }> {
    const data: Record<string, unknown> = { hw_id: hwId };
    if (opts.initialIntrospection) data.initial_introspection = opts.initialIntrospection;
    const body = await this.#call({
      api: 'agent',
      method: 'POST',
      path: `${this.#realmPath(realm)}/agent/devices`,
      bearer: this.#agentToken,
      body: { data },
      idempotent: false,
      operation: 'register',
    });
    const secret = (body as { data?: { credentials_secret?: unknown } } | undefined)?.data?.credentials_secret;
    if (typeof secret !== 'string' || secret.length === 0) throw this.#garbled('register');
    return { credentialsSecret: secret };
  }

  async unregisterDevice(realm: string, deviceId: string): Promise<void> {
    await this.#call({
      api: 'agent',
      method: 'DELETE',
      path: `${this.#realmPath(realm)}/agent/devices/${encodeURIComponent(deviceId)}`,
      bearer: this.#agentToken,
      idempotent: false,
      operation: 'unregister',
    });
  }

  async getInfo(realm: string, hwId: string, credentialsSecret: string): Promise<DeviceInfo> {
    const body = await this.#call({
      api: 'device',
      method: 'GET',
      path: this.#devicePath(realm, hwId),
      bearer: credentialsSecret,
      idempotent: true,
      operation: 'info',
    });
    const d = (body as { data?: DeviceInfo } | undefined)?.data;
    if (
      !d ||
      typeof d.version !== 'string' ||
      !['pending', 'confirmed', 'inhibited'].includes(d.status) ||
      typeof d.protocols?.astarte_mqtt_v1?.broker_url !== 'string'
    ) {
      throw this.#garbled('info');
    }
    return {
      version: d.version,
      status: d.status,
      protocols: { astarte_mqtt_v1: { broker_url: d.protocols.astarte_mqtt_v1.broker_url } },
    };
  }

  async requestCredentials(
    realm: string,
    hwId: string,
    credentialsSecret: string,
    csrPem: string,
  ): Promise<{ clientCrt: string }> {
    const body = await this.#call({
      api: 'device',
      method: 'POST',
      path: `${this.#devicePath(realm, hwId)}/protocols/astarte_mqtt_v1/credentials`,
      bearer: credentialsSecret,
      body: { data: { csr: csrPem } },
      idempotent: false,
      operation: 'credentials',
    });
    const crt = (body as { data?: { client_crt?: unknown } } | undefined)?.data?.client_crt;
    if (typeof crt !== 'string' || !crt.includes('BEGIN CERTIFICATE')) throw this.#garbled('credentials');
    return { clientCrt: crt };
  }

  async verifyCredentials(realm: string, hwId: string, credentialsSecret: string, clientCrtPem: string): Promise<VerifyResult> {
    const body = await this.#call({
      api: 'device',
      method: 'POST',
      path: `${this.#devicePath(realm, hwId)}/protocols/astarte_mqtt_v1/credentials/verify`,
      bearer: credentialsSecret,
      body: { data: { client_crt: clientCrtPem } },
      idempotent: true,
      operation: 'verify',
    });
    const d = (body as { data?: Record<string, unknown> } | undefined)?.data;
    if (!d || typeof d.valid !== 'boolean' || typeof d.timestamp !== 'string') throw this.#garbled('verify');
    if (d.valid) {
      if (typeof d.until !== 'string') throw this.#garbled('verify');
      return { valid: true, timestamp: d.timestamp, until: d.until };
    }
    if (typeof d.cause !== 'string') throw this.#garbled('verify');
    return { valid: false, timestamp: d.timestamp, cause: d.cause as VerifyCause, details: null };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #realmPath(realm: string): string {
    return `/v1/${encodeURIComponent(realm)}`;
  }

  #devicePath(realm: string, hwId: string): string {
    return `${this.#realmPath(realm)}/devices/${encodeURIComponent(hwId)}`;
  }

  #garbled(operation: string): PairingError {
    return new PairingError('REMOTE_ERROR', { message: `Unexpected answer from the pairing server to ${operation}` });
  }

  async #call(spec: CallSpec): Promise<unknown> {
    if (this.#closed) throw new PairingSetupError('CLIENT_CLOSED');
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.#retries;
      let res: Response;
      try {
        res = await this.#send(spec);
      } catch (e) {
        const code = transportCode(e);
        const timedOut = (e as Error)?.name === 'TimeoutError';
        const retryable = spec.idempotent || (code !== undefined && NOT_SENT.has(code));
        if (!last && retryable) {
          await sleep(this.#retryDelayMs * 2 ** attempt);
          continue;
        }
        const what = timedOut ? `did not answer within ${this.#timeoutMs} ms` : `is unreachable (${code ?? 'network error'})`;
        throw new PairingError('UNREACHABLE', {
          message: `Pairing server ${new URL(this.url).host} ${what} (${spec.operation})`,
          cause: timedOut ? undefined : e,
        });
      }
      if (res.status >= 500) {
        await res.arrayBuffer().catch(() => undefined);
        if (!last && spec.idempotent && [502, 503, 504].includes(res.status)) {
          await sleep(this.#retryDelayMs * 2 ** attempt);
          continue;
        }
        throw new PairingError('REMOTE_ERROR', {
          message: `Pairing server error ${res.status} (${spec.operation})`,
          remoteStatus: res.status,
        });
      }
      return this.#read(res, spec);
    }
  }

  async #send(spec: CallSpec): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.bearer) headers.authorization = `Bearer ${spec.bearer}`;
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${this.url}${spec.path}`, {
      method: spec.method,
      headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal: AbortSignal.timeout(this.#timeoutMs),
      redirect: 'error',
    });
  }

  async #read(res: Response, spec: CallSpec): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new PairingError('UNREACHABLE', {
        message: `Connection lost while reading the answer (${spec.operation})`,
        cause: e,
      });
    }
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        if (res.ok) throw this.#garbled(spec.operation);
      }
    }
    if (res.ok) return body;
    throw errorFromAnswer(res.status, body, res.headers.get('x-imprint-error'), spec.api, spec.operation, spec.bearer);
  }
}

/**
 * Did a real Astarte refuse this agent token for its time claims (Guardian's 403 "Forbidden", the same as
 * for an unknown realm)? The client holds its own token: it reads `exp` and `nbf` without verifying.
 */
function tokenOutOfTime(token: string | undefined, nowSeconds: number): boolean {
  const payload = token?.split('.')[1];
  if (!payload) return false;
  try {
    const { exp, nbf } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown; nbf?: unknown };
    return (typeof exp === 'number' && exp <= nowSeconds) || (typeof nbf === 'number' && nbf > nowSeconds);
  } catch {
    return false;
  }
}

/**
 * An Astarte error answer → PairingError with the same code the embedded core would throw.
 * Our server names the code in `x-imprint-error`; a real Astarte is mapped by status and text.
 * `bearer`: the credential the request carried (an agent token tells a refused token from an unknown realm).
 */
export function errorFromAnswer(
  status: number,
  body: unknown,
  codeHeader: string | null,
  api: Api,
  operation: string,
  bearer?: string,
): PairingError {
  const errors = (body as { errors?: Record<string, unknown> } | undefined)?.errors;
  const detail = typeof errors?.detail === 'string' ? errors.detail : undefined;
  const fields: Record<string, string[]> = {};
  if (errors && detail === undefined) {
    for (const [k, v] of Object.entries(errors)) {
      if (Array.isArray(v)) fields[k] = v.map(String);
      else if (typeof v === 'string') fields[k] = [v];
    }
  }
  const hasFields = Object.keys(fields).length > 0;
  let code: PairingErrorCode;
  if (isPairingCode(codeHeader)) code = codeHeader;
  else if (status === 400) code = 'BAD_REQUEST';
  else if (status === 401)
    code =
      detail === 'Missing authorization token'
        ? 'MISSING_TOKEN'
        : detail === 'Invalid JWT token'
          ? 'INVALID_TOKEN'
          : 'UNAUTHORIZED';
  else if (status === 403) {
    if (detail?.startsWith('Unauthorized access to')) code = 'UNAUTHORIZED_PATH';
    else if (detail === undefined || detail === 'Forbidden') {
      if (api === 'device') code = 'FORBIDDEN';
      else code = tokenOutOfTime(bearer, Date.now() / 1000) ? 'TOKEN_REFUSED' : 'REALM_NOT_FOUND';
    } else code = 'DEVICE_INHIBITED';
  } else if (status === 404) code = 'DEVICE_NOT_FOUND';
  else if (status === 422) {
    if (detail === 'Device already registered') code = 'ALREADY_REGISTERED';
    else if (hasFields && Object.values(fields).some((l) => l.some((m) => m.includes('valid base64 encoded 128 bits id'))))
      code = 'INVALID_DEVICE_ID';
    else if (fields.csr) code = 'INVALID_CSR';
    else code = 'VALIDATION';
  } else
    return new PairingError('REMOTE_ERROR', {
      message: `Unexpected status ${status} from the pairing server (${operation})`,
      remoteStatus: status,
    });

  const fieldText = Object.entries(fields)
    .map(([k, v]) => `${k} ${v.join(', ')}`)
    .join('; ');
  // Server texts are Astarte's fixed strings or our domain's messages; neither carries a secret.
  const message = detail ?? (fieldText || `Pairing server answered ${status} (${operation})`);
  return new PairingError(code, { message: message.slice(0, 300), remoteStatus: status, ...(hasFields && { fields }) });
}
