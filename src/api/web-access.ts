// Who may call what on the web-mode server. Decided on the route the router matched, never on
// how the URL was spelled: every route gets the session check when it is registered unless it is
// declared public (only the static UI is), and a path that matches no route is a bare 404.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { ApiErrorBody } from './api-routes.ts';

/**
 * - `session` (the default when a route says nothing): `Authorization: Bearer <token>` only.
 * - `session-stream`: a GET that may also carry the token as `?token=` (EventSource cannot set headers).
 * - `public`: no token (GET of the static UI only).
 */
export type RouteAccess = 'public' | 'session' | 'session-stream';

declare module 'fastify' {
  interface FastifyContextConfig {
    stationAccess?: RouteAccess;
  }
}

export interface RegisteredRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

export interface AccessControlOptions {
  token: string;
  /** The query parameter a `session-stream` route accepts the token in. */
  tokenQueryParam: string;
  /** `host:port` values a request may name; read per request (the port is known after listen). */
  allowedHosts: () => readonly string[];
}

export function sendError(reply: FastifyReply, status: number, error: ApiErrorBody['error']): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ error }));
}

const UNAUTHORIZED: ApiErrorBody['error'] = {
  code: 'UNAUTHORIZED',
  message: 'Missing or wrong session token',
  hint: 'Open the URL printed by `imprint web` (it carries the token)',
};

/**
 * Installs the Host check, the per-route session check and the 404 handler on `app`; call it
 * before registering any route. Returns the live list of registered routes (what the router holds).
 */
export function installAccessControl(app: FastifyInstance, opts: AccessControlOptions): RegisteredRoute[] {
  const expected = Buffer.from(opts.token);
  const routes: RegisteredRoute[] = [];
  const authenticated = new WeakSet<FastifyRequest>();

  const tokenMatches = (given: string | undefined): boolean => {
    if (!given) return false;
    const g = Buffer.from(given);
    return g.length === expected.length && timingSafeEqual(g, expected);
  };

  // Every request, matched or not: only our own Host (a rebinding page names its own host).
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    const host = (req.headers.host ?? '').toLowerCase();
    if (!opts.allowedHosts().includes(host)) {
      return sendError(reply, 421, { code: 'BAD_HOST', message: 'Unexpected Host header' });
    }
  });

  const requireSession = (access: RouteAccess) =>
    async function requireSession(req: FastifyRequest, reply: FastifyReply) {
      reply.header('cache-control', 'no-store');
      const header = req.headers.authorization;
      const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
      // Only a stream may carry the token in its URL: a state change always needs the header,
      // which no "simple" cross-origin request (form, no-cors fetch, beacon) can set.
      const fromQuery =
        access === 'session-stream' && req.method === 'GET'
          ? (req.query as Record<string, unknown> | undefined)?.[opts.tokenQueryParam]
          : undefined;
      if (!tokenMatches(bearer ?? (typeof fromQuery === 'string' ? fromQuery : undefined))) {
        return sendError(reply, 401, UNAUTHORIZED);
      }
      const refused = crossSiteRefusal(req, opts.allowedHosts());
      if (refused) return sendError(reply, 403, { code: 'CROSS_ORIGIN', message: refused });
      if (hasBody(req) && !isJson(req.headers['content-type'])) {
        return sendError(reply, 415, { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request bodies must be application/json' });
      }
      authenticated.add(req);
    };

  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.stationAccess ?? 'session';
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (access === 'public' && methods.some((m) => m !== 'GET')) {
      throw new Error(`Only GET routes can be public (${methods.join(',')} ${route.url})`);
    }
    if (access === 'session-stream' && methods.some((m) => m !== 'GET')) {
      throw new Error(`Only GET routes can take the token in the query (${methods.join(',')} ${route.url})`);
    }
    for (const method of methods) routes.push({ method, url: route.url, access });
    if (access === 'public') return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [requireSession(access), ...existing];
  });

  // Safety net: a route that somehow escaped the check above still cannot run its handler.
  app.addHook('preHandler', async (req, reply) => {
    if (req.is404 || authenticated.has(req)) return;
    if ((req.routeOptions.config.stationAccess ?? 'session') === 'public') return;
    return sendError(reply, 401, UNAUTHORIZED);
  });

  // No echo of the method or path (Fastify's default does): nothing to learn from a miss.
  app.setNotFoundHandler((_req, reply) => sendError(reply, 404, { code: 'NOT_FOUND', message: 'Not found' }));

  // JSON only: the text/plain parser would let a cross-origin form or beacon post a body.
  app.removeContentTypeParser('text/plain');

  return routes;
}

/** Why a request from a browser page of another origin is refused, or undefined when it is not. */
function crossSiteRefusal(req: FastifyRequest, allowedHosts: readonly string[]): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedHosts.some((h) => origin === `http://${h}`)) {
    return 'Requests from another origin are refused';
  }
  // Another port on 127.0.0.1 is "same-site": only our own origin or a typed address will do.
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return 'Requests from another site or origin are refused';
  }
  return undefined;
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0].trim().toLowerCase() === 'application/json';
}
