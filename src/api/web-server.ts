// Web mode: the station API over HTTP + server-sent events, and the built renderer, on 127.0.0.1
// only. Every /api request needs the session token (Bearer header, or ?token= for EventSource).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { type ImprintError, isImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { API_PREFIX, type ApiErrorBody, ROUTES, TOKEN_QUERY_PARAM } from './api-routes.ts';
import {
  AuditQuerySchema,
  BatchParams,
  ExportQuery,
  OpenBatchBody,
  ScanBody,
  SignInBody,
  TestPortBody,
  UpdateSettingsBody,
} from './api-schemas.ts';
import type { StationApi, StationEvent } from './station-api.ts';

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
  close(): Promise<void>;
}

const STATUS_BY_CODE: Record<string, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ADMIN_PIN_INVALID: 403,
  ADMIN_REQUIRED: 403,
  NOT_SIGNED_IN: 403,
  PIN_LOCKED: 429,
  NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  BATCH_ALREADY_OPEN: 409,
  NO_OPEN_BATCH: 409,
  VALIDATION: 400,
  // The station is fine; the remote core it asked on the caller's behalf is not.
  UNREACHABLE: 502,
  REMOTE_QUERY_FAILED: 502,
};

function statusFor(e: ImprintError): number {
  return STATUS_BY_CODE[e.code] ?? (/NOT_FOUND$/.test(e.code) ? 404 : 400);
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

export function newSessionToken(): string {
  return randomBytes(24).toString('base64url');
}

function tokenMatches(expected: Buffer, given: string | undefined): boolean {
  if (!given) return false;
  const g = Buffer.from(given);
  return g.length === expected.length && timingSafeEqual(g, expected);
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? newSessionToken();
  const expected = Buffer.from(token);
  const log = opts.logger ?? silentLogger;
  const api = opts.api;
  // No request logging: URLs of event streams carry the token.
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  let port = 0;

  app.addHook('onRequest', async (req, reply) => {
    // Only our own origin: a page on another site resolving to 127.0.0.1 (DNS rebinding) is refused.
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `${WEB_HOST}:${port}` && host !== `localhost:${port}`) {
      return sendError(reply, 421, { code: 'BAD_HOST', message: 'Unexpected Host header' });
    }
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!req.url.startsWith(`${API_PREFIX}/`)) return;
    reply.header('cache-control', 'no-store');
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const query = (req.query as Record<string, string | undefined>)?.[TOKEN_QUERY_PARAM];
    if (!tokenMatches(expected, bearer ?? query)) {
      return sendError(reply, 401, {
        code: 'UNAUTHORIZED',
        message: 'Missing or wrong session token',
        hint: 'Open the URL printed by `imprint web` (it carries the token)',
      });
    }
  });

  app.setErrorHandler((err, _req, reply) => {
    if (isImprintError(err)) {
      return sendError(reply, statusFor(err), { code: err.code, message: err.message, hint: err.hint });
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

  const p = (r: keyof typeof ROUTES) => `${API_PREFIX}${ROUTES[r].path}`;

  app.get(p('status'), () => api.getStatus());
  app.post<{ Body: Static<typeof SignInBody> }>(p('signIn'), { schema: { body: SignInBody } }, (req) => api.signIn(req.body));
  app.delete(p('signOut'), async () => {
    await api.signOut();
    return { ok: true };
  });
  app.post(p('start'), async () => {
    await api.start();
    return { ok: true };
  });
  app.post(p('stop'), async () => {
    await api.stop();
    return { ok: true };
  });
  app.post<{ Body: Static<typeof ScanBody> }>(p('submitScan'), { schema: { body: ScanBody } }, async (req) => {
    await api.submitScan(req.body.text, req.body.fixtureId);
    return { ok: true };
  });
  app.post<{ Body: Static<typeof OpenBatchBody> }>(p('openBatch'), { schema: { body: OpenBatchBody } }, (req) =>
    api.openBatch(req.body.workOrder),
  );
  app.post(p('closeBatch'), () => api.closeBatch());
  app.get(p('listBatches'), () => api.listBatches());
  app.get<{ Params: Static<typeof BatchParams> }>(p('batchReport'), { schema: { params: BatchParams } }, (req) =>
    api.batchReport(req.params.id),
  );
  app.get<{ Querystring: Static<typeof AuditQuerySchema> & { token?: string } }>(
    p('queryAudit'),
    { schema: { querystring: { ...AuditQuerySchema, additionalProperties: true } } },
    (req) => {
      const { token: _t, ...query } = req.query;
      return api.queryAudit(query);
    },
  );
  app.get<{ Querystring: Static<typeof AuditQuerySchema> & { token?: string } }>(
    p('queryRemoteAudit'),
    { schema: { querystring: { ...AuditQuerySchema, additionalProperties: true } } },
    (req) => {
      const { token: _t, ...query } = req.query;
      return api.queryRemoteAudit(query);
    },
  );
  app.get(p('verifyAudit'), () => api.verifyAudit());
  app.get<{ Querystring: Static<typeof ExportQuery> }>(
    p('exportAudit'),
    { schema: { querystring: { ...ExportQuery, additionalProperties: true } } },
    async (req) => ({ content: await api.exportAudit({ format: req.query.format, batchId: req.query.batchId }) }),
  );
  app.get(p('getSettings'), () => api.getSettings());
  app.patch<{ Body: Static<typeof UpdateSettingsBody> }>(p('updateSettings'), { schema: { body: UpdateSettingsBody } }, (req) =>
    api.updateSettings(req.body.patch as Parameters<StationApi['updateSettings']>[0], req.body.pin),
  );
  app.get(p('listPorts'), () => api.listPorts());
  app.post<{ Body: Static<typeof TestPortBody> }>(p('testPort'), { schema: { body: TestPortBody } }, (req) =>
    api.testPort(req.body.path),
  );
  app.get(p('syncStatus'), () => api.syncStatus());
  app.post(p('sync'), () => api.sync());

  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const streams = new Set<() => void>();
  app.get(p('events'), (req, reply) => streamEvents(req, reply));

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

  const staticRoot = opts.staticDir ? resolve(opts.staticDir) : undefined;
  app.get('/*', (req, reply) => serveStatic(staticRoot, req, reply));

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
    async close() {
      for (const end of [...streams]) end();
      await app.close();
    },
  };
}

function sendError(reply: FastifyReply, status: number, error: ApiErrorBody['error']): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ error }));
}

function serveStatic(root: string | undefined, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-frame-options', 'DENY');
  const index = root ? join(root, 'index.html') : undefined;
  if (!root || !index || !existsSync(index)) {
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .send('The Imprint UI is not built yet. Run `npm start` (or `imprint web`), which builds it.');
  }
  const rel = decodeURIComponent(req.url.split('?')[0]).replace(/^\/+/, '');
  const file = normalize(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) return sendError(reply, 404, { code: 'NOT_FOUND', message: 'Not found' });
  const target = rel && existsSync(file) && statSync(file).isFile() ? file : index;
  const ext = extname(target);
  reply.header('cache-control', target === index ? 'no-store' : 'public, max-age=3600');
  return reply.type(MIME[ext] ?? 'application/octet-stream').send(readFileSync(target));
}
