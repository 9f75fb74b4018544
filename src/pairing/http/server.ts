// The pairing core as an HTTP server speaking Astarte's Pairing API. The HTTP layer translates
// (routes, auth, bodies, statuses); the domain core decides.
import swagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ImprintError } from '../../common/errors.ts';
import { type Logger, silentLogger } from '../../common/logger.ts';
import { PAIRING_CORE_VERSION } from '../embedded-core.ts';
import { CentralAudit } from '../import/central-audit.ts';
import { ImportDecisions } from '../import/import-decisions.ts';
import { DeviceImportService } from '../import/import-service.ts';
import { StationRegistry } from '../import/station-registry.ts';
import { AgentAuthenticator } from './agent-auth.ts';
import { type ClaimApi, registerClaimRoutes } from './claim-routes.ts';
import { coreErrorAnswer, type ErrorAnswer, frameworkAnswer, internalErrorAnswer, validationAnswer } from './error-replies.ts';
import { type ImportApi, registerImportRoutes } from './import-routes.ts';
import { PairingMetrics } from './metrics.ts';
import { registerOcspRoutes } from './ocsp-routes.ts';
import { openApiOptions } from './openapi.ts';
import { guardRoute, type RegisteredRoute } from './route-access.ts';
import { createFastify, listeningUrl, type PairingFastify, type PairingServerCore, type RouteContext } from './route-context.ts';
import { agentAuthorizer, registerAgentRoutes } from './routes-agent.ts';
import { registerDeviceRoutes } from './routes-device.ts';
import { registerServiceRoutes } from './routes-service.ts';
import { listenSign, type RunningSignListener } from './sign-listener.ts';
import { registerSignRoutes, type SignApi } from './sign-routes.ts';

export interface PairingServerOptions {
  core: PairingServerCore;
  logger?: Logger;
  /** Reported by GET /version; default: this package's version. */
  version?: string;
  /**
   * Broker URL given to devices of realms created without one of their own (whose broker URL is
   * the core's placeholder DEFAULT_BROKER_URL): `imprint pairing serve --broker-url`.
   */
  defaultBrokerUrl?: string;
  /** Largest accepted request body, bytes (CSRs are ~1 KiB). */
  bodyLimit?: number;
  now?: () => number;
  /** Fleet claims: POST /v1/{realm}/claims (claims/claim-service.ts). */
  claims?: ClaimApi;
  /** Foundries-compatible POST /sign for one realm (`serve --sign-realm`; foundries/sign-service.ts). */
  sign?: SignApi;
  /** Offline batch import and central audit; default: built on the core's own database when it has one. */
  imports?: ImportApi;
  /** Serve HTTPS with this certificate and key (PEM): `imprint pairing serve --tls-cert/--tls-key`. */
  tls?: { cert: string; key: string };
}

/** The import API on the core's own store (EmbeddedPairingCore.extension()), when it has one. */
function defaultImports(core: PairingServerCore, logger: Logger): ImportApi | undefined {
  const ext = core.extension?.();
  if (!ext) return undefined;
  const decisions = new ImportDecisions(ext, logger);
  const stations = new StationRegistry(ext, decisions);
  return { devices: new DeviceImportService(ext, stations, decisions), audit: new CentralAudit(ext, stations), stations };
}

/** The field to name in a 422 for a malformed device id: the `device_id` path parameter, else `hw_id`. */
function idFieldOf(req: FastifyRequest): string {
  return req.params && typeof req.params === 'object' && 'device_id' in req.params ? 'device_id' : 'hw_id';
}

/** Largest accepted request body by default, bytes (CSRs are ~1 KiB). */
const DEFAULT_BODY_LIMIT = 64 * 1024;

const registeredRoutesOf = new WeakMap<object, RegisteredRoute[]>();
const contextOf = new WeakMap<object, RouteContext>();

/** Every route the server registered, with whether it is public (for the deny-by-default tests). */
export function registeredRoutes(app: PairingFastify): readonly RegisteredRoute[] {
  return registeredRoutesOf.get(app) ?? [];
}

export async function buildPairingServer(opts: PairingServerOptions): Promise<PairingFastify> {
  const logger = opts.logger ?? silentLogger;
  const app = createFastify({ logger, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, tls: opts.tls });
  const ctx: RouteContext = {
    core: opts.core,
    auth: new AgentAuthenticator({ now: opts.now }),
    metrics: new PairingMetrics(),
    version: opts.version ?? PAIRING_CORE_VERSION,
    defaultBrokerUrl: opts.defaultBrokerUrl,
  };
  contextOf.set(app, ctx);
  ctx.metrics.storeStats = opts.core.storeStats ? () => opts.core.storeStats!() : undefined;
  // Deny by default: before any route exists, so that every route gets the agent check unless it is listed public.
  const routes: RegisteredRoute[] = [];
  registeredRoutesOf.set(app, routes);
  app.addHook('onRoute', guardRoute(agentAuthorizer(ctx), routes));
  ctx.metrics.storeText = opts.core.storeMetricsText ? () => opts.core.storeMetricsText!() : undefined;
  ctx.metrics.signingStats = opts.core.signingStats ? () => opts.core.signingStats!() : undefined;

  await app.register(swagger, openApiOptions(ctx.version));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let answer: ErrorAnswer | undefined = coreErrorAnswer(err, idFieldOf(req));
    if (!answer && err.validation) answer = validationAnswer(err);
    else if (!answer && !(err instanceof ImprintError)) answer = frameworkAnswer(err);
    if (!answer) {
      // A fault of the core (its CA, its store, a bug): logged with its stack, answered without details.
      req.log.error({ err }, 'pairing request failed');
      answer = internalErrorAnswer();
    }
    // 503 (the database is away): a client or load balancer may retry, here or on another instance.
    if (answer.status === 503) reply.header('retry-after', '1');
    return reply.code(answer.status).header('x-imprint-error', answer.code).send(answer.body);
  });

  // An empty body with a JSON content type (curl or SDKs on DELETE) is no body, not a 400.
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(req, body as string, done);
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ errors: { detail: 'Page not found' } }));

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    ctx.metrics.observeRequest(req.method, route, reply.statusCode, seconds);
    // URLs carry realm and device id, never a secret; headers and bodies are never logged.
    const line = {
      reqId: req.id,
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (route.startsWith('/v1/')) req.log.info(line, 'request');
    else req.log.debug(line, 'request');
    done();
  });

  registerAgentRoutes(app, ctx);
  registerDeviceRoutes(app, ctx);
  registerServiceRoutes(app, ctx);
  registerOcspRoutes(app, ctx);
  // Always declared (so every server serves the same OpenAPI document); 404 when not enabled.
  registerClaimRoutes(app, ctx, opts.claims);
  registerSignRoutes(app, ctx, opts.sign);
  registerImportRoutes(app, ctx, opts.imports ?? defaultImports(opts.core, logger));
  return app;
}

export interface RunningPairingServer {
  url: string;
  /** The URL of the dedicated /sign listener (`signPort`), when there is one. */
  signUrl?: string;
  app: PairingFastify;
  close(): Promise<void>;
}

/**
 * Build and listen. A failed listen rejects with Node's error (its `code` says why). With `signPort` (and
 * `sign`), POST /sign is served on that port too, by the lean listener of sign-listener.ts.
 */
export async function servePairing(
  opts: PairingServerOptions & { host?: string; port?: number; signPort?: number },
): Promise<RunningPairingServer> {
  const app = await buildPairingServer(opts);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 4003;
  let signListener: RunningSignListener | undefined;
  try {
    await app.listen({ host, port });
    const ctx = contextOf.get(app);
    if (opts.signPort !== undefined && opts.sign && ctx) {
      signListener = await listenSign({
        sign: opts.sign,
        metrics: ctx.metrics,
        logger: opts.logger ?? silentLogger,
        bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
        tls: opts.tls,
        host,
        port: opts.signPort,
      });
    }
  } catch (e) {
    // Node's own error (EADDRINUSE, EACCES, …): the command that serves words it (common/listen-errors.ts).
    await app.close().catch(() => {});
    throw e;
  }
  return {
    url: listeningUrl(opts.tls !== undefined, host, app.server.address(), port),
    signUrl: signListener?.url,
    app,
    close: async () => {
      await signListener?.close();
      await app.close();
    },
  };
}

export type { FastifyInstance, PairingFastify, PairingServerCore, RouteContext };
export { servePairing as serve };
