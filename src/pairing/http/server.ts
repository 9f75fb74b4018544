// The pairing core as an HTTP server speaking Astarte's Pairing API. The HTTP layer translates
// (routes, auth, bodies, statuses); the domain core decides.
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import { ImprintError } from '../../common/errors.ts';
import { type Logger, silentLogger } from '../../common/logger.ts';
import { isDbError } from '../../db/db-errors.ts';
import { PAIRING_CORE_VERSION, type PairingCoreExtension } from '../embedded-core.ts';
import { CentralAudit } from '../import/central-audit.ts';
import { DeviceImportService } from '../import/import-service.ts';
import type { PairingAgentApi, PairingDeviceApi } from '../pairing-api.ts';
import { AgentAuthenticator } from './agent-auth.ts';
import { type ClaimApi, registerClaimRoutes } from './claim-routes.ts';
import {
  type ErrorAnswer,
  frameworkAnswer,
  internalErrorAnswer,
  isPairingLikeError,
  pairingErrorAnswer,
  unavailableAnswer,
  validationAnswer,
} from './error-replies.ts';
import { type ImportApi, registerImportRoutes } from './import-routes.ts';
import { PairingMetrics } from './metrics.ts';
import { registerOcspRoutes } from './ocsp-routes.ts';
import { openApiOptions } from './openapi.ts';
import { guardRoute, type RegisteredRoute } from './route-access.ts';
import { agentAuthorizer, registerAgentRoutes } from './routes-agent.ts';
import { registerDeviceRoutes } from './routes-device.ts';
import { registerServiceRoutes } from './routes-service.ts';
import { registerSignRoutes, type SignApi } from './sign-routes.ts';

/** What the server needs from a pairing core (EmbeddedPairingCore provides it). */
export interface PairingServerCore extends PairingAgentApi, PairingDeviceApi {
  /** A realm the core knows without asking its store (synchronous: the hot path). */
  getRealm(name: string): { name: string; publicKeyPem: string } | undefined;
  /** Any realm, asking the store when needed (created by another process or instance). */
  realm(name: string): Promise<{ name: string; publicKeyPem: string } | undefined>;
  caCertificatePem(): string;
  crlPem(): Promise<string>;
  /** The DER OCSPResponse to a DER OCSPRequest about the realm's certificates. */
  ocspResponse(realm: string, requestDer: Buffer): Promise<Buffer>;
  /** Group-commit figures for /metrics, when the core has them. */
  storeStats?(): { batches: number; writes: number };
  /** The store's own Prometheus lines (latency, pool, health). */
  storeMetricsText?(): string;
  /** Whether the core's database answers: /health is 503 while it does not. */
  health?(): Promise<{ ok: boolean; latencyMs: number; error?: string }>;
  /** The stores and CA of features built on the core (imports, central audit). */
  extension?(): PairingCoreExtension;
}

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
function defaultImports(core: PairingServerCore): ImportApi | undefined {
  const ext = core.extension?.();
  return ext && { devices: new DeviceImportService(ext), audit: new CentralAudit(ext) };
}

/** Shared by the route modules. */
export interface RouteContext {
  core: PairingServerCore;
  auth: AgentAuthenticator;
  metrics: PairingMetrics;
  version: string;
  defaultBrokerUrl?: string;
}

export function createFastify(opts: { logger: Logger; bodyLimit: number; tls?: { cert: string; key: string } }) {
  const tls = opts.tls;
  // HTTPS through a server factory, so that the instance keeps one type (Fastify's https option changes it).
  const serverFactory: FastifyServerFactory | undefined = tls
    ? (handler) => createHttpsServer(tls, handler) as unknown as Server
    : undefined;
  return Fastify({
    serverFactory,
    loggerInstance: opts.logger,
    // One line per request is written by our onResponse hook, without headers or bodies.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger (a measurable cost at 10k req/s): the request id goes in our line.
    childLoggerFactory: (logger) => logger,
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    // Astarte-like validation: no type coercion, no silent stripping, every field reported.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export type PairingFastify = ReturnType<typeof createFastify>;

/** The field to name in a 422 for a malformed device id: the `device_id` path parameter, else `hw_id`. */
function idFieldOf(req: FastifyRequest): string {
  return req.params && typeof req.params === 'object' && 'device_id' in req.params ? 'device_id' : 'hw_id';
}

const registeredRoutesOf = new WeakMap<object, RegisteredRoute[]>();

/** Every route the server registered, with whether it is public (for the deny-by-default tests). */
export function registeredRoutes(app: PairingFastify): readonly RegisteredRoute[] {
  return registeredRoutesOf.get(app) ?? [];
}

export async function buildPairingServer(opts: PairingServerOptions): Promise<PairingFastify> {
  const logger = opts.logger ?? silentLogger;
  const app = createFastify({ logger, bodyLimit: opts.bodyLimit ?? 64 * 1024, tls: opts.tls });
  const ctx: RouteContext = {
    core: opts.core,
    auth: new AgentAuthenticator({ now: opts.now }),
    metrics: new PairingMetrics(),
    version: opts.version ?? PAIRING_CORE_VERSION,
    defaultBrokerUrl: opts.defaultBrokerUrl,
  };
  ctx.metrics.storeStats = opts.core.storeStats ? () => opts.core.storeStats!() : undefined;
  // Deny by default: before any route exists, so that every route gets the agent check unless it is listed public.
  const routes: RegisteredRoute[] = [];
  registeredRoutesOf.set(app, routes);
  app.addHook('onRoute', guardRoute(agentAuthorizer(ctx), routes));
  ctx.metrics.storeText = opts.core.storeMetricsText ? () => opts.core.storeMetricsText!() : undefined;

  await app.register(swagger, openApiOptions(ctx.version));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let answer: ErrorAnswer;
    if (isPairingLikeError(err)) answer = pairingErrorAnswer(err, idFieldOf(req));
    else if (isDbError(err, 'DB_UNAVAILABLE')) answer = unavailableAnswer();
    else if (err.validation) answer = validationAnswer(err);
    else {
      const known = err instanceof ImprintError ? undefined : frameworkAnswer(err);
      if (!known) req.log.error({ err }, 'pairing request failed');
      answer = known ?? internalErrorAnswer();
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
  registerImportRoutes(app, ctx, opts.imports ?? defaultImports(opts.core));
  return app;
}

export interface RunningPairingServer {
  url: string;
  app: PairingFastify;
  close(): Promise<void>;
}

/** Build and listen. Port in use or an unusable address become one-line ImprintErrors. */
export async function servePairing(opts: PairingServerOptions & { host?: string; port?: number }): Promise<RunningPairingServer> {
  const app = await buildPairingServer(opts);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 4003;
  try {
    await app.listen({ host, port });
  } catch (e) {
    await app.close().catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ImprintError('PORT_IN_USE', `Port ${port} on ${host} is already in use`);
    if (code === 'EACCES') throw new ImprintError('PORT_DENIED', `Not allowed to listen on ${host}:${port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new ImprintError('BAD_ADDRESS', `Cannot listen on ${host}: no such local address`);
    throw new ImprintError('LISTEN_FAILED', `Cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${actualPort}`, app, close: () => app.close() };
}

export type { FastifyInstance };
export { servePairing as serve };
