// What the route modules share with the server that registers them: the Fastify instance's type, the core
// the routes call and the per-server state (authenticator, metrics). Its own module, so that routes import
// it and the server imports the routes, never the reverse.
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerFactory, LogController } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import type { PairingAgentApi, PairingDeviceApi } from '../pairing-api.ts';
import type { AgentAuthenticator } from './agent-auth.ts';
import type { PairingMetrics } from './metrics.ts';

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
  /** Certificates signed on the event loop and on signing threads, for /metrics. */
  signingStats?(): { inline: number; threaded: number };
  /** Whether the core's database answers: /health is 503 while it does not. */
  health?(): Promise<{ ok: boolean; latencyMs: number; error?: string }>;
  /** The stores and CA of features built on the core (imports, central audit). */
  extension?(): PairingCoreExtension;
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

/** The URL a server listening on `host` is reached at (an IPv6 host in brackets; port 0 resolved from its address). */
export function listeningUrl(tls: boolean, host: string, address: AddressInfo | string | null, port: number): string {
  const actual = typeof address === 'object' && address ? address.port : port;
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actual}`;
}
