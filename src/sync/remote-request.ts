// One request to the remote core's agent API (`/v1/{realm}/…`, agent JWT), and the errors every
// caller names the same way: which remote, which realm, and for a refused token what to check.
import { SyncError } from './sync-errors.ts';

export interface RemoteTarget {
  remoteUrl: string;
  agentToken: string;
  realm: string;
  timeoutMs?: number;
}

export interface RemoteAnswer {
  status: number;
  /** The `x-imprint-error` header (the core's code for a refusal), when present. */
  code?: string;
  body: { data?: unknown; errors?: Record<string, unknown> } | undefined;
}

export function remoteBaseOf(url: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new SyncError('REMOTE_URL_INVALID', url);
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** "realm plant at http://core:4003": how every error names where it went. */
export function whereOf(t: Pick<RemoteTarget, 'remoteUrl' | 'realm'>): string {
  return `realm ${t.realm} at ${remoteBaseOf(t.remoteUrl)}`;
}

export async function remoteRequest(
  t: RemoteTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<RemoteAnswer> {
  const base = remoteBaseOf(t.remoteUrl);
  let res: Response;
  try {
    res = await fetch(`${base}/v1/${encodeURIComponent(t.realm)}/${path}`, {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${t.agentToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(t.timeoutMs ?? 30_000),
      redirect: 'error',
    });
  } catch (e) {
    const code = (e as { cause?: { code?: string } })?.cause?.code ?? (e as Error).name;
    throw new SyncError('SYNC_UNREACHABLE', `${whereOf(t)}: ${code}`, { cause: e });
  }
  const text = await res.text();
  let parsed: RemoteAnswer['body'];
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined; // not our API's answer (a proxy's error page): reported by its status
  }
  return { status: res.status, code: res.headers.get('x-imprint-error') ?? undefined, body: parsed };
}

/**
 * The error for an answer that is not a success: a refused token (naming the scope the request
 * needs), a station the core does not know or knows with another key, or a plain refusal.
 */
export function refusal(t: RemoteTarget, what: string, a: RemoteAnswer, scope?: string): SyncError {
  const where = whereOf(t);
  if (a.code === 'STATION_NOT_ENROLLED') return new SyncError('STATION_NOT_ENROLLED', where);
  if (a.code === 'STATION_KEY_MISMATCH') return new SyncError('STATION_KEY_MISMATCH', where);
  if (a.status === 401) return new SyncError('REMOTE_TOKEN_REFUSED', where, { details: { status: a.status } });
  if (a.status === 403) {
    return scope
      ? new SyncError('REMOTE_SCOPE_MISSING', `${what} needs ${scope}; ${where}`, { details: { status: a.status } })
      : new SyncError('REMOTE_TOKEN_REFUSED', where, { details: { status: a.status } });
  }
  const detail = a.body?.errors ? JSON.stringify(a.body.errors) : `HTTP ${a.status}`;
  return new SyncError('SYNC_REFUSED', `${what}, ${where}: ${detail}`, { details: { status: a.status, code: a.code } });
}
