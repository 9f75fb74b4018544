// StationApi over HTTP + server-sent events: used by the renderer in web mode and by the Electron
// main process (which talks to the core running as a Node child). Environment-neutral: fetch only;
// how the event stream is opened is injected (EventSource in a browser, a fetch stream in Node).
import { API_PREFIX, type ApiErrorBody, ROUTES, TOKEN_QUERY_PARAM } from './api-routes.ts';
import type {
  AdminGrant,
  AuditEvent,
  AuditPage,
  AuditQuery,
  AuditSearch,
  Batch,
  BatchReport,
  ChainStatus,
  LabelReprint,
  OperatorSession,
  PortInfo,
  PortTestResult,
  SettingsPatch,
  StationApi,
  StationEvent,
  StationSettings,
  StationStatus,
  SyncStatus,
} from './station-api.ts';

/** An error answered by the station, carried across the transport with its code and hint. */
export class StationApiError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly status: number;
  constructor(status: number, body: ApiErrorBody['error']) {
    super(body.message);
    this.name = 'StationApiError';
    this.code = body.code;
    this.hint = body.hint;
    this.status = status;
  }
}

/** Opens the event stream at `url`; calls `onData` with each message's data; returns a closer. */
export type EventStreamOpener = (url: string, onData: (data: string) => void) => () => void;

export interface HttpStationClientOptions {
  /** e.g. http://127.0.0.1:4173 (no trailing slash); '' for same-origin in a browser. */
  baseUrl: string;
  token: string;
  openEvents: EventStreamOpener;
  fetch?: typeof fetch;
}

type Route = keyof typeof ROUTES;

export class HttpStationClient implements StationApi {
  private readonly listeners = new Set<(event: StationEvent) => void>();
  private closeStream?: () => void;

  constructor(private readonly opts: HttpStationClientOptions) {}

  private url(route: Route, params: Record<string, string> = {}, query?: Record<string, unknown>): string {
    let path = ROUTES[route].path as string;
    for (const [k, v] of Object.entries(params)) path = path.replace(`:${k}`, encodeURIComponent(v));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const q = qs.toString();
    return `${this.opts.baseUrl}${API_PREFIX}${path}${q ? `?${q}` : ''}`;
  }

  private async call<T>(
    route: Route,
    opts: { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown } = {},
  ): Promise<T> {
    const doFetch = this.opts.fetch ?? fetch;
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(this.url(route, opts.params, opts.query), {
      method: ROUTES[route].method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    if (!res.ok) {
      let err: ApiErrorBody['error'] = { code: 'HTTP_ERROR', message: `The station answered ${res.status}` };
      try {
        err = (JSON.parse(text) as ApiErrorBody).error ?? err;
      } catch {}
      throw new StationApiError(res.status, err);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  getStatus(): Promise<StationStatus> {
    return this.call('status');
  }

  subscribe(listener: (event: StationEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.closeStream) {
      // The stream is the one route that takes the token in its URL (EventSource sets no header);
      // every other call carries it in the Authorization header only.
      const url = this.url('events', {}, { [TOKEN_QUERY_PARAM]: this.opts.token });
      this.closeStream = this.opts.openEvents(url, (data) => {
        let event: StationEvent;
        try {
          event = JSON.parse(data) as StationEvent;
        } catch {
          return;
        }
        for (const l of this.listeners) l(event);
      });
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.closeStream) {
        this.closeStream();
        this.closeStream = undefined;
      }
    };
  }

  signIn(credentials: { name?: string; badge?: string; pin?: string }): Promise<OperatorSession> {
    return this.call('signIn', { body: credentials });
  }
  async signOut(): Promise<void> {
    await this.call('signOut');
  }
  async start(): Promise<void> {
    await this.call('start');
  }
  async stop(): Promise<void> {
    await this.call('stop');
  }
  async submitScan(text: string, fixtureId?: string): Promise<void> {
    await this.call('submitScan', { body: { text, fixtureId } });
  }
  openBatch(workOrder: string): Promise<Batch> {
    return this.call('openBatch', { body: { workOrder } });
  }
  closeBatch(): Promise<Batch> {
    return this.call('closeBatch');
  }
  listBatches(): Promise<Batch[]> {
    return this.call('listBatches');
  }
  batchReport(batchId: string): Promise<BatchReport> {
    return this.call('batchReport', { params: { id: batchId } });
  }
  queryAudit(query: AuditQuery): Promise<AuditEvent[]> {
    return this.call('queryAudit', { query: query as Record<string, unknown> });
  }
  queryRemoteAudit(query: AuditQuery): Promise<AuditEvent[]> {
    return this.call('queryRemoteAudit', { query: query as Record<string, unknown> });
  }

  queryRemoteAuditPage(query: AuditQuery & { cursor?: string }): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
    return this.call('queryRemoteAuditPage', { query: query as Record<string, unknown> });
  }
  verifyAudit(): Promise<ChainStatus> {
    return this.call('verifyAudit');
  }
  async exportAudit(opts: { format: 'csv' | 'jsonl'; batchId?: string; query?: AuditSearch }): Promise<string> {
    const { query, ...rest } = opts;
    const params = query ? { ...query, format: opts.format, selection: true } : rest;
    const r = await this.call<{ content: string }>('exportAudit', { query: params });
    return r.content;
  }
  queryAuditPage(query: AuditSearch): Promise<AuditPage> {
    return this.call('queryAuditPage', { query: query as Record<string, unknown> });
  }
  async exportDevices(opts: { query?: AuditSearch }): Promise<string> {
    const r = await this.call<{ content: string }>('exportDevices', { query: (opts.query ?? {}) as Record<string, unknown> });
    return r.content;
  }
  async acknowledgeFailure(fixtureId: string): Promise<void> {
    await this.call('acknowledgeFailure', { params: { id: fixtureId } });
  }
  testPrint(): Promise<PortTestResult> {
    return this.call('testPrint');
  }
  reprintLabel(fixtureId?: string): Promise<LabelReprint> {
    return this.call('reprintLabel', { body: fixtureId === undefined ? {} : { fixtureId } });
  }
  unlockAdmin(pin: string, name?: string): Promise<AdminGrant> {
    return this.call('unlockAdmin', { body: { pin, name } });
  }
  getSettings(): Promise<StationSettings> {
    return this.call('getSettings');
  }
  updateSettings(patch: SettingsPatch, pin: string): Promise<StationSettings> {
    return this.call('updateSettings', { body: { patch, pin } });
  }
  listPorts(): Promise<PortInfo[]> {
    return this.call('listPorts');
  }
  testPort(path: string): Promise<PortTestResult> {
    return this.call('testPort', { body: { path } });
  }
  syncStatus(): Promise<SyncStatus> {
    return this.call('syncStatus');
  }
  sync(): Promise<SyncStatus> {
    return this.call('sync');
  }
}
