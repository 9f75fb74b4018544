// Web mode: the station API over HTTP + server-sent events, and the built renderer, on 127.0.0.1
// only. Who may call what is decided per matched route in web-access.ts: the static UI is public,
// every other route needs the session token.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyRouterOptions,
  type FastifySchema,
  type RawServerDefault,
  type RouteGenericInterface,
  type RouteHandlerMethod,
} from 'fastify';
import type { Static } from 'typebox';
import type { AuditErrorCode } from '../audit/audit-errors.ts';
import type { CommonErrorCode } from '../common/common-errors.ts';
import { type ImprintError, isImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import type { DbErrorCode } from '../db/db-errors.ts';
import type { LineFaultCode } from '../station/line-faults.ts';
import type { StationErrorCode } from '../station/station-errors.ts';
import type { SyncErrorCode } from '../sync/sync-errors.ts';
import type { ApiErrorCode } from './api-errors.ts';
import { API_PREFIX, ROUTES, TOKEN_QUERY_PARAM } from './api-routes.ts';
import {
  AuditQuerySchema,
  AuditSearchSchema,
  BatchParams,
  ExportQuery,
  FixtureParams,
  OpenBatchBody,
  RemoteAuditPageSchema,
  ReprintBody,
  ScanBody,
  SignInBody,
  TestPortBody,
  UnlockAdminBody,
  UpdateSettingsBody,
} from './api-schemas.ts';
import type { StationApi, StationEvent } from './station-api.ts';
import { installAccessControl, type RegisteredRoute, sendError } from './web-access.ts';

export const WEB_HOST = '127.0.0.1';

/** Same CSP as the Electron window: nothing but our own files, no inline script. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface WebServerOptions {
  api: StationApi;
  /** 0 picks a free port. */
  port?: number;
  /** A fresh random token when omitted. */
  token?: string;
  /** The built renderer (renderer/dist). */
  staticDir?: string;
  logger?: Logger;
  /** Keep-alive comment interval on event streams. */
  heartbeatMs?: number;
}

export interface WebServer {
  url: string;
  /** The URL to open: the token rides in the fragment, which browsers never send to a server. */
  openUrl: string;
  port: number;
  token: string;
  /** Every route the router holds, with who may call it (the security tests sweep them all). */
  routes: readonly RegisteredRoute[];
  close(): Promise<void>;
}

/** Every code the station API can answer with, whichever layer decided it. */
export type StationApiErrorCode =
  | ApiErrorCode
  | StationErrorCode
  | LineFaultCode
  | AuditErrorCode
  | SyncErrorCode
  | DbErrorCode
  | CommonErrorCode;

/** The HTTP status of each: complete, so a new code without a status (or a status for a dead code) fails tsc. */
export const STATUS_BY_CODE: Record<StationApiErrorCode, number> = {
  // The request itself
  VALIDATION: 400,
  INVALID_ARGUMENT: 400,
  INVALID_DEVICE_ID: 400,
  AUDIT_INVALID_QUERY: 400,
  AUDIT_INVALID_BATCH: 400,
  AUDIT_INVALID_EVENT: 400,
  AUDIT_SECRET_REJECTED: 400,
  BAD_CONFIG: 400,
  REMOTE_URL_INVALID: 400,
  // Who asks
  NOT_SIGNED_IN: 403,
  ADMIN_PIN_INVALID: 403,
  PIN_LOCKED: 429,
  ADMIN_PIN_WEAK: 400,
  // What it names
  AUDIT_UNKNOWN_BATCH: 404,
  UNKNOWN_FIXTURE: 404,
  AUDIT_NOT_FOUND: 404,
  // The state of the station
  AUDIT_BATCH_ALREADY_OPEN: 409,
  AUDIT_BATCH_CLOSED: 409,
  AUDIT_NO_OPEN_BATCH: 409,
  NO_FIXTURE_WAITING: 409,
  NOTHING_TO_ACKNOWLEDGE: 409,
  NO_LABEL_TO_REPRINT: 409,
  START_NEEDS_BATCH: 409,
  LINE_INTERRUPTED: 409,
  NO_REMOTE: 409,
  AGENT_TOKEN_MISSING: 409,
  // The station cannot do it now: its storage or its own files (retrying may help once fixed)
  STATION_STORAGE_FULL: 503,
  STATION_STORAGE_READONLY: 503,
  STATION_STORAGE_DAMAGED: 503,
  STATION_STORAGE_ERROR: 503,
  PAIRING_CORE_UNREACHABLE: 503,
  AGENT_TOKEN_REFUSED: 503,
  REGISTRATION_LIMIT_REACHED: 503,
  STATION_DB_UNUSABLE: 503,
  STATION_DATA_UNUSABLE: 503,
  VAULT_WRITE_FAILED: 503,
  VAULT_KEY_INSECURE: 503,
  VAULT_KEY_INVALID: 503,
  VAULT_KEY_MISSING: 503,
  VAULT_RECORD_INVALID: 503,
  SECRET_STORE_CORRUPT: 503,
  REALM_KEY_ORPHANED: 503,
  SIMULATOR_ERROR: 503,
  LABEL_PRINT_FAILED: 502,
  ADMIN_PIN_FILE_INVALID: 503,
  KEYCHAIN_TIMEOUT: 503,
  KEYCHAIN_ERROR: 503,
  NO_PARENT: 503,
  UI_NOT_BUILT: 503,
  UI_BUILD_LOCKED: 503,
  AUDIT_OPEN_FAILED: 503,
  AUDIT_DAMAGED: 503,
  AUDIT_WRITE_FAILED: 503,
  AUDIT_SIGNING_KEY: 503,
  AUDIT_NO_SIGNING_KEY: 503,
  AUDIT_VERIFY_FAILED: 503,
  AUDIT_READONLY: 500,
  AUDIT_CLOSED: 503,
  FILE_UNREADABLE: 503,
  FILE_UNWRITABLE: 503,
  DB_SCHEMA_TOO_NEW: 503,
  DB_MIGRATIONS_INVALID: 503,
  DB_UNAVAILABLE: 503,
  DB_WRITE_FAILED: 503,
  DB_NOT_DURABLE: 503,
  DB_URL_INVALID: 503,
  DB_CLOSED: 503,
  DB_COPY_CONFLICT: 409,
  // The station is fine; the remote core it asked on the caller's behalf is not.
  SYNC_UNREACHABLE: 502,
  SYNC_REFUSED: 502,
  REMOTE_QUERY_FAILED: 502,
  SYNC_CHAIN_MISMATCH: 502,
  SYNC_CHAIN_REFUSED: 502,
  REMOTE_TOKEN_REFUSED: 502,
  REMOTE_SCOPE_MISSING: 502,
  STATION_NOT_ENROLLED: 502,
  STATION_KEY_MISMATCH: 502,
  ENROLMENT_UNSUPPORTED: 502,
  DEVICE_ALREADY_CONFIRMED: 409,
  // Settings the remote core cannot honour: refused, the station keeps its previous settings.
  OFFLINE_IMPORTS_UNSUPPORTED: 409,
  OFFLINE_CAPABILITY_UNKNOWN: 409,
};

function statusFor(e: ImprintError, log: Logger): number {
  const status = (STATUS_BY_CODE as Record<string, number | undefined>)[e.code];
  if (status !== undefined) return status;
  // A code from outside the station's catalogues (e.g. the pairing client's): a refusal, told as such.
  log.warn({ code: e.code }, 'station API error code without an HTTP status');
  return 400;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
};

/**
 * One spelling per route: exact case, no doubled or trailing slash, no `;` parameters (the
 * router's typings lack that last option, which it honours).
 */
const ROUTER_OPTIONS: FastifyRouterOptions<RawServerDefault> & { useSemicolonDelimiter: boolean } = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  useSemicolonDelimiter: false,
  maxParamLength: 100,
};

export function newSessionToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? newSessionToken();
  const log = opts.logger ?? silentLogger;
  const api = opts.api;
  // No request logging: URLs of event streams carry the token. No automatic HEAD twins: the
  // routes registered below are exactly what can be reached.
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 256 * 1024,
    exposeHeadRoutes: false,
    routerOptions: ROUTER_OPTIONS,
    // A malformed URL (bad percent-encoding) names no route: the same bare 404, no echo of it.
    frameworkErrors: (_err, _req, reply) => sendError(reply, 404, { code: 'NOT_FOUND', message: 'Not found' }),
  });
  let port = 0;
  const routes = installAccessControl(app, {
    token,
    tokenQueryParam: TOKEN_QUERY_PARAM,
    allowedHosts: () => [`${WEB_HOST}:${port}`, `localhost:${port}`],
  });

  app.setErrorHandler((err, _req, reply) => {
    if (isImprintError(err)) {
      return sendError(reply, statusFor(err, log), { code: err.code, message: err.message, hint: err.hint });
    }
    const fe = err as { validation?: unknown; statusCode?: number; message?: string };
    if (fe.validation || (fe.statusCode && fe.statusCode < 500)) {
      return sendError(reply, fe.statusCode && fe.statusCode >= 400 ? fe.statusCode : 400, {
        code: 'VALIDATION',
        message: fe.message ?? 'Bad request',
      });
    }
    log.error({ err: { message: fe.message } }, 'station API call failed');
    return sendError(reply, 500, { code: 'INTERNAL', message: 'The station hit an internal error; see its log' });
  });

  /** One station API route, its method, path and token rule taken from the shared route table. */
  function route<G extends RouteGenericInterface = RouteGenericInterface>(
    name: keyof typeof ROUTES,
    schema: FastifySchema | undefined,
    handler: RouteHandlerMethod<RawServerDefault, IncomingMessage, ServerResponse, G>,
  ): void {
    const r = ROUTES[name];
    app.route<G>({
      method: r.method,
      url: `${API_PREFIX}${r.path}`,
      schema,
      config: { stationAccess: 'tokenInQuery' in r ? 'session-stream' : 'session' },
      handler,
    });
  }

  const ok = { ok: true } as const;
  const done = (p: Promise<void>) => p.then(() => ok);
  route('status', undefined, () => api.getStatus());
  route<{ Body: Static<typeof SignInBody> }>('signIn', { body: SignInBody }, (req) => api.signIn(req.body));
  route('signOut', undefined, () => done(api.signOut()));
  route('start', undefined, () => done(api.start()));
  route('stop', undefined, () => done(api.stop()));
  route<{ Body: Static<typeof ScanBody> }>('submitScan', { body: ScanBody }, (req) =>
    done(api.submitScan(req.body.text, req.body.fixtureId)),
  );
  route<{ Body: Static<typeof OpenBatchBody> }>('openBatch', { body: OpenBatchBody }, (req) => api.openBatch(req.body.workOrder));
  route('closeBatch', undefined, () => api.closeBatch());
  route('listBatches', undefined, () => api.listBatches());
  route<{ Params: Static<typeof BatchParams> }>('batchReport', { params: BatchParams }, (req) => api.batchReport(req.params.id));
  route<{ Querystring: Static<typeof AuditQuerySchema> }>('queryAudit', { querystring: AuditQuerySchema }, (req) =>
    api.queryAudit(req.query),
  );
  route<{ Querystring: Static<typeof AuditQuerySchema> }>('queryRemoteAudit', { querystring: AuditQuerySchema }, (req) =>
    api.queryRemoteAudit(req.query),
  );
  route<{ Querystring: Static<typeof RemoteAuditPageSchema> }>(
    'queryRemoteAuditPage',
    { querystring: RemoteAuditPageSchema },
    (req) => api.queryRemoteAuditPage(req.query),
  );
  route('verifyAudit', undefined, () => api.verifyAudit());
  route<{ Querystring: Static<typeof ExportQuery> }>('exportAudit', { querystring: ExportQuery }, async (req) => {
    const { format, selection, ...query } = req.query;
    return { content: await api.exportAudit(selection ? { format, query } : { format, batchId: query.batchId }) };
  });
  route<{ Querystring: Static<typeof AuditSearchSchema> }>('queryAuditPage', { querystring: AuditSearchSchema }, (req) =>
    api.queryAuditPage(req.query),
  );
  route<{ Querystring: Static<typeof AuditSearchSchema> }>('exportDevices', { querystring: AuditSearchSchema }, async (req) => ({
    content: await api.exportDevices({ query: req.query }),
  }));
  route<{ Params: Static<typeof FixtureParams> }>('acknowledgeFailure', { params: FixtureParams }, (req) =>
    done(api.acknowledgeFailure(req.params.id)),
  );
  route('testPrint', undefined, () => api.testPrint());
  route<{ Body: Static<typeof ReprintBody> }>('reprintLabel', { body: ReprintBody }, (req) =>
    api.reprintLabel(req.body.fixtureId),
  );
  route<{ Body: Static<typeof UnlockAdminBody> }>('unlockAdmin', { body: UnlockAdminBody }, (req) =>
    api.unlockAdmin(req.body.pin, req.body.name),
  );
  route('getSettings', undefined, () => api.getSettings());
  route<{ Body: Static<typeof UpdateSettingsBody> }>('updateSettings', { body: UpdateSettingsBody }, (req) =>
    api.updateSettings(req.body.patch as Parameters<StationApi['updateSettings']>[0], req.body.pin),
  );
  route('listPorts', undefined, () => api.listPorts());
  route<{ Body: Static<typeof TestPortBody> }>('testPort', { body: TestPortBody }, (req) => api.testPort(req.body.path));
  route('syncStatus', undefined, () => api.syncStatus());
  route('sync', undefined, () => api.sync());

  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const streams = new Set<() => void>();
  route('events', undefined, (req, reply) => streamEvents(req, reply));

  function streamEvents(req: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    const send = (event: StationEvent) => res.write(`data: ${JSON.stringify(event)}\n\n`);
    res.write('retry: 1000\n\n');
    const unsubscribe = api.subscribe(send);
    // A fresh snapshot first, so a (re)connecting client never shows stale state.
    api.getStatus().then(
      (status) => send({ type: 'status', status }),
      () => {},
    );
    const timer = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    const end = () => {
      clearInterval(timer);
      unsubscribe();
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  }

  registerStaticUi(app, opts.staticDir ? resolve(opts.staticDir) : undefined);

  await app.listen({ host: WEB_HOST, port: opts.port ?? 0 });
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${WEB_HOST}:${port}`;
  log.info({ url }, 'web mode listening');
  return {
    url,
    openUrl: `${url}/#token=${token}`,
    port,
    token,
    routes,
    async close() {
      for (const end of [...streams]) end();
      await app.close();
    },
  };
}

/** Names a static route can carry literally (no `:` or `*`, which the router would read as patterns). */
const STATIC_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * The built renderer as one public GET route per file, listed when the server starts: no
 * catch-all, so a path that is not a file of the UI matches nothing. The UI routes with the URL
 * fragment (#/qa …), so `/` is the only page.
 */
function registerStaticUi(app: FastifyInstance, root: string | undefined): void {
  const index = root && join(root, 'index.html');
  const pub = { stationAccess: 'public' } as const;
  if (!root || !index || !existsSync(index)) {
    app.get('/', { config: pub }, (_req, reply) =>
      uiHeaders(reply)
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The Imprint UI is not built yet. Run `npm start` (or `imprint web`), which builds it.'),
    );
    return;
  }
  app.get('/', { config: pub }, (_req, reply) => sendFile(reply, index, 'no-store'));
  for (const file of listFiles(root)) {
    const rel = relative(root, file).split(sep);
    if (!rel.every((part) => STATIC_NAME.test(part))) continue;
    const cache = file === index ? 'no-store' : 'public, max-age=3600';
    app.get(`/${rel.join('/')}`, { config: pub }, (_req, reply) => sendFile(reply, file, cache));
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

function uiHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-frame-options', 'DENY');
}

function sendFile(reply: FastifyReply, file: string, cacheControl: string): FastifyReply {
  if (!existsSync(file)) return sendError(reply, 404, { code: 'NOT_FOUND', message: 'Not found' });
  return uiHeaders(reply)
    .header('cache-control', cacheControl)
    .type(MIME[extname(file)] ?? 'application/octet-stream')
    .send(readFileSync(file));
}
