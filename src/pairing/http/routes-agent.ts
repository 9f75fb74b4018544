// Agent API: register and unregister devices, authorized by an agent JWT.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { authorizationPath } from './agent-auth.ts';
import { requireRealm } from './realm-guard.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import { ErrorReplies, RealmParams, RegisterBody, RegisterReply, UnregisterParams } from './schemas.ts';

const { 400: e400, 401: e401, 403: e403, 404: e404, 422: e422 } = ErrorReplies;
const agentErrors = { 400: e400, 401: e401, 403: e403, 422: e422 };

/**
 * onRequest hook of every route that is not public (route-access.ts attaches it: agent and import routes):
 * runs before the body is read: unknown realm, then token, then `a_pa` on the matched route, as Astarte's
 * plugs do. Callback style: a cached token is decided without a promise (the hot path of registration).
 */
export function agentAuthorizer(ctx: RouteContext) {
  return (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    let pending: Promise<void> | undefined;
    // On the route the router matched, with its decoded parameters: never on how the URL was spelled.
    const path = authorizationPath(req.routeOptions.url ?? '', req.params as Record<string, unknown>);
    try {
      const realm = requireRealm(ctx, req);
      // Anonymous arrows, not a named closure: tsx names those with Object.defineProperty each time.
      pending = realm instanceof Promise ? realm.then((r) => authorizeOn(ctx, req, path, r)) : authorizeOn(ctx, req, path, realm);
    } catch (e) {
      done(e as Error);
      return;
    }
    if (pending) pending.then(() => done(), done);
    else done();
  };
}

function authorizeOn(
  ctx: RouteContext,
  req: FastifyRequest,
  path: string,
  realm: { name: string; publicKeyPem: string },
): Promise<void> | undefined {
  return ctx.auth.authorize(realm, req.headers.authorization, req.method, path);
}

export function registerAgentRoutes(app: PairingFastify, ctx: RouteContext): void {
  app.post(
    '/v1/:realm/agent/devices',
    {
      schema: {
        tags: ['agent'],
        operationId: 'registerDevice',
        summary: 'Register a device',
        description:
          'Register a device and obtain its credentials secret. Registration can be repeated (each time a new secret; ' +
          'the previous one stops working) until the device first requests credentials; after that: 422 ' +
          '"Device already registered" until it is unregistered.',
        security: [{ JWT: [] }],
        params: RealmParams,
        body: RegisterBody,
        response: { 201: RegisterReply, ...agentErrors },
      },
    },
    async (req, reply) => {
      const { hw_id, initial_introspection } = req.body.data;
      const { credentialsSecret } = await ctx.core.registerDevice(
        req.params.realm,
        hw_id,
        initial_introspection ? { initialIntrospection: initial_introspection } : undefined,
      );
      ctx.metrics.count('registrations');
      return reply.code(201).send({ data: { credentials_secret: credentialsSecret } });
    },
  );

  app.delete(
    '/v1/:realm/agent/devices/:device_id',
    {
      schema: {
        tags: ['agent'],
        operationId: 'unregisterDevice',
        summary: 'Unregister a device',
        description:
          'Clear the credentials secret so the device can be registered again, even after it requested credentials. ' +
          'The device id must be exactly 22 characters here.',
        security: [{ JWT: [] }],
        params: UnregisterParams,
        response: { 204: { type: 'null', description: 'Device unregistered' }, ...agentErrors, 404: e404 },
      },
    },
    async (req, reply) => {
      await ctx.core.unregisterDevice(req.params.realm, req.params.device_id);
      ctx.metrics.count('unregistrations');
      return reply.code(204).send(null);
    },
  );
}
