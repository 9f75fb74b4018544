// Service routes: version, health, metrics, the CA certificate and CRL, and the OpenAPI document.
// (OCSP is in ocsp-routes.ts.)

import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { requireRealm } from './realm-guard.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import { ErrorReplies, PemText, RealmParams, VersionReply } from './schemas.ts';

const PEM_TYPE = 'application/x-pem-file';

export function registerServiceRoutes(app: PairingFastify, ctx: RouteContext): void {
  app.get(
    '/version',
    { schema: { tags: ['service'], operationId: 'getVersion', summary: 'Server version', response: { 200: VersionReply } } },
    async () => ({ data: ctx.version }),
  );

  app.get(
    '/v1/:realm/version',
    {
      schema: {
        tags: ['service'],
        operationId: 'getRealmVersion',
        summary: 'Server version (realm scoped, as Astarte)',
        params: RealmParams,
        response: { 200: VersionReply, 403: ErrorReplies[403] },
      },
      onRequest: async (req) => void (await requireRealm(ctx, req)),
    },
    async () => ({ data: ctx.version }),
  );

  // As Astarte: an empty body, 200 when the store answers, 503 when it does not (a load balancer then
  // takes this instance out of rotation; it recovers by itself when the database is back).
  const health = async (_req: unknown, reply: FastifyReply) => {
    const h = await ctx.core.health?.();
    if (h && !h.ok) return reply.code(503).header('retry-after', '1').send();
    return reply.code(200).send();
  };
  const healthReplies = {
    200: Type.Null({ description: 'Ready: the store answers (empty body)' }),
    503: Type.Null({ description: 'Not ready: the database does not answer (empty body, Retry-After)' }),
  };
  app.get(
    '/health',
    { schema: { tags: ['service'], operationId: 'getHealth', summary: 'Readiness', response: healthReplies } },
    health,
  );
  app.get(
    '/v1/:realm/health',
    {
      schema: {
        tags: ['service'],
        operationId: 'getRealmHealth',
        summary: 'Readiness (realm scoped, as Astarte)',
        params: RealmParams,
        response: { ...healthReplies, 403: ErrorReplies[403] },
      },
      onRequest: async (req) => void (await requireRealm(ctx, req)),
    },
    health,
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['service'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text.' }) },
      },
    },
    async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render()),
  );

  app.get(
    '/v1/:realm/ca',
    {
      schema: {
        tags: ['ca'],
        operationId: 'getCaCertificate',
        summary: 'The CA certificate that signs client certificates (PEM)',
        produces: [PEM_TYPE],
        params: RealmParams,
        response: { 200: PemText, 403: ErrorReplies[403] },
      },
      onRequest: async (req) => void (await requireRealm(ctx, req)),
    },
    async (_req, reply) => reply.type(PEM_TYPE).send(ctx.core.caCertificatePem()),
  );

  app.get(
    '/v1/:realm/ca/crl',
    {
      schema: {
        tags: ['ca'],
        operationId: 'getCrl',
        summary: 'The current certificate revocation list (PEM, signed by the CA)',
        produces: [PEM_TYPE],
        description: 'Lists certificates revoked as superseded by a newer credentials request of the same device.',
        params: RealmParams,
        response: { 200: PemText, 403: ErrorReplies[403] },
      },
      onRequest: async (req) => void (await requireRealm(ctx, req)),
    },
    async (_req, reply) => reply.type(PEM_TYPE).send(await ctx.core.crlPem()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
