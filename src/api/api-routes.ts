// The HTTP shape of the station API: one table shared by the web server and the HTTP client, so
// the two transports cannot drift apart. Environment-neutral (no Node, no DOM).

export const API_PREFIX = '/api';

export const ROUTES = {
  status: { method: 'GET', path: '/status' },
  // The only route that takes the token in its URL: EventSource cannot set a header.
  events: { method: 'GET', path: '/events', tokenInQuery: true },
  signIn: { method: 'POST', path: '/session' },
  signOut: { method: 'DELETE', path: '/session' },
  start: { method: 'POST', path: '/line/start' },
  stop: { method: 'POST', path: '/line/stop' },
  submitScan: { method: 'POST', path: '/scans' },
  openBatch: { method: 'POST', path: '/batches' },
  closeBatch: { method: 'POST', path: '/batches/current/close' },
  listBatches: { method: 'GET', path: '/batches' },
  batchReport: { method: 'GET', path: '/batches/:id/report' },
  queryAudit: { method: 'GET', path: '/audit/events' },
  queryRemoteAudit: { method: 'GET', path: '/audit/remote-events' },
  queryRemoteAuditPage: { method: 'GET', path: '/audit/remote-page' },
  verifyAudit: { method: 'GET', path: '/audit/verify' },
  exportAudit: { method: 'GET', path: '/audit/export' },
  queryAuditPage: { method: 'GET', path: '/audit/page' },
  exportDevices: { method: 'GET', path: '/audit/devices.csv' },
  acknowledgeFailure: { method: 'POST', path: '/fixtures/:id/acknowledge' },
  testPrint: { method: 'POST', path: '/label-printer/test' },
  reprintLabel: { method: 'POST', path: '/labels/reprint' },
  unlockAdmin: { method: 'POST', path: '/admin/unlock' },
  getSettings: { method: 'GET', path: '/settings' },
  updateSettings: { method: 'PATCH', path: '/settings' },
  listPorts: { method: 'GET', path: '/ports' },
  testPort: { method: 'POST', path: '/ports/test' },
  syncStatus: { method: 'GET', path: '/sync' },
  sync: { method: 'POST', path: '/sync' },
} as const;

/** Session token: `Authorization: Bearer <token>` on every route; `?token=` also on a `tokenInQuery` route. */
export const TOKEN_QUERY_PARAM = 'token';

/** The error body every failing route answers with. */
export interface ApiErrorBody {
  error: { code: string; message: string; hint?: string };
}
