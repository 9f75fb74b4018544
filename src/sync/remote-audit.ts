// The central audit of every station, read from a remote pairing core
// (`GET /v1/{realm}/agent/audit/events`, agent scope). One client for `imprint audit query --remote`
// and the QA view's "All stations (remote core)" scope. The agent token goes in the request only.
import type { AuditEvent, AuditQuery } from '../audit/audit-types.ts';
import { remoteBaseOf, whereOf } from './remote-request.ts';
import { SyncError } from './sync-errors.ts';

export interface RemoteAuditTarget {
  remoteUrl: string;
  agentToken: string;
  realm: string;
  /** Default 10 s: a QA search should say "unreachable" quickly rather than hang. */
  timeoutMs?: number;
}

/** Query parameter names of the central audit route, by AuditQuery field. */
const PARAMS: Partial<Record<keyof AuditQuery, string>> = {
  deviceId: 'device_id',
  hardwareSerial: 'hardware_serial',
  batchId: 'batch_id',
  operator: 'operator',
  station: 'station',
  outcome: 'outcome',
  step: 'step',
  from: 'from',
  to: 'to',
  limit: 'limit',
};

/** Events of every station matching the query, newest first. */
export async function queryRemoteAudit(target: RemoteAuditTarget, query: AuditQuery): Promise<AuditEvent[]> {
  return (await queryRemoteAuditPage(target, query)).events;
}

/** One page of them, and the opaque cursor of the next page (the same query with `cursor`). */
export async function queryRemoteAuditPage(
  target: RemoteAuditTarget,
  query: AuditQuery & { cursor?: string },
): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
  const params = new URLSearchParams();
  if (query.cursor) params.set('cursor', query.cursor);
  for (const [field, name] of Object.entries(PARAMS)) {
    const v = query[field as keyof AuditQuery];
    if (v !== undefined && v !== '' && name) params.set(name, String(v));
  }
  const base = remoteBaseOf(target.remoteUrl);
  const where = whereOf(target);
  let res: Response;
  try {
    res = await fetch(`${base}/v1/${encodeURIComponent(target.realm)}/agent/audit/events?${params}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${target.agentToken}` },
      signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
    });
  } catch (e) {
    throw new SyncError('SYNC_UNREACHABLE', where, { cause: e });
  }
  const body = (await res.json().catch(() => undefined)) as
    | { data?: { events: AuditEvent[]; next_cursor?: string }; errors?: unknown }
    | undefined;
  if (res.status !== 200 || !body?.data) {
    if (res.status === 401 || res.status === 403) throw new SyncError('REMOTE_TOKEN_REFUSED', `HTTP ${res.status}, ${where}`);
    throw new SyncError('REMOTE_QUERY_FAILED', `${where}: ${JSON.stringify(body?.errors ?? res.status)}`);
  }
  const { events, next_cursor } = body.data;
  return next_cursor ? { events, nextCursor: next_cursor } : { events };
}
