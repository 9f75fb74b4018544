// Device API: info, credentials and verify, authorized by the device's credentials secret.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { pemDecode } from '../ca/pem.ts';
import { DEFAULT_BROKER_URL } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { bearerCredential } from './agent-auth.ts';
import { requireRealm } from './realm-guard.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import {
  CredentialsBody,
  CredentialsReply,
  DeviceParams,
  ErrorReplies,
  InfoReply,
  ProtocolParams,
  VerifyBody,
  VerifyReply,
} from './schemas.ts';

const MQTT_V1 = 'astarte_mqtt_v1';

/** As Erlang's public_key:pem_decode in Astarte's changeset: exactly one entry, a certificate request. */
function isSinglePemCsr(text: unknown): boolean {
  if (typeof text !== 'string' || text.split('-----BEGIN ').length !== 2) return false;
  try {
    pemDecode(text, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
    return true;
  } catch {
    return false;
  }
}
const deviceErrors = ErrorReplies;

export function registerDeviceRoutes(app: PairingFastify, ctx: RouteContext): void {
  // The secret stays in this map for the request's lifetime only; it is never logged.
  const secrets = new WeakMap<FastifyRequest, string>();

  // Defined once, not per request: tsx names a closure with Object.defineProperty each time it is made.
  const withSecret = (req: FastifyRequest): void => {
    const secret = bearerCredential(req.headers.authorization);
    if (!secret) throw new PairingError('UNAUTHORIZED');
    secrets.set(req, secret);
  };
  const authenticateDevice = (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    try {
      const realm = requireRealm(ctx, req);
      if (realm instanceof Promise) {
        realm.then(() => withSecret(req)).then(() => done(), done);
        return;
      }
      withSecret(req);
      done();
    } catch (e) {
      done(e as Error);
    }
  };
  const secretOf = (req: FastifyRequest): string => secrets.get(req) ?? '';

  // Astarte has a :protocol route parameter and answers 400 for anything but astarte_mqtt_v1.
  const requireMqttV1 = (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if ((req.params as { protocol?: string }).protocol === MQTT_V1) done();
    else done(new PairingError('BAD_REQUEST'));
  };

  // Astarte's CredentialsRequest changeset: the csr must be one PEM certificate request, checked before the
  // device and its secret (a CSR that is PEM but unusable is the CA's to refuse, with its reason).
  const requirePemCsr = (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const csr = (req.body as { data?: { csr?: unknown } } | undefined)?.data?.csr;
    if (isSinglePemCsr(csr)) done();
    else
      done(
        new PairingError('INVALID_CSR', {
          message: 'Invalid CSR: not a PEM certificate request',
          fields: { csr: ['is not a valid PEM CSR'] },
        }),
      );
  };

  app.get(
    '/v1/:realm/devices/:hw_id',
    {
      schema: {
        tags: ['device'],
        operationId: 'getInfo',
        summary: 'Status and transport information for a device',
        security: [{ CredentialsSecret: [] }],
        params: DeviceParams,
        response: { 200: InfoReply, ...deviceErrors },
      },
      onRequest: authenticateDevice,
    },
    async (req) => {
      const info = await ctx.core.getInfo(req.params.realm, req.params.hw_id, secretOf(req));
      if (ctx.defaultBrokerUrl && info.protocols.astarte_mqtt_v1.broker_url === DEFAULT_BROKER_URL) {
        return { data: { ...info, protocols: { astarte_mqtt_v1: { broker_url: ctx.defaultBrokerUrl } } } };
      }
      return { data: info };
    },
  );

  app.post(
    '/v1/:realm/devices/:hw_id/protocols/:protocol/credentials',
    {
      schema: {
        tags: ['device'],
        operationId: 'obtainCredentials',
        summary: 'Obtain a client certificate for the Astarte MQTT v1 protocol',
        description:
          'Signs the CSR (its self-signature is checked) with subject CN forced to `<realm>/<device id>`; the previous ' +
          'certificate of the device is revoked. The first request confirms the device. Inhibited devices get 403.',
        security: [{ CredentialsSecret: [] }],
        params: ProtocolParams,
        body: CredentialsBody,
        response: { 201: CredentialsReply, ...deviceErrors },
      },
      onRequest: authenticateDevice,
      preValidation: requireMqttV1,
      preHandler: requirePemCsr,
    },
    async (req, reply) => {
      const { clientCrt } = await ctx.core.requestCredentials(
        req.params.realm,
        req.params.hw_id,
        secretOf(req),
        req.body.data.csr,
      );
      ctx.metrics.count('credentials_issued');
      return reply.code(201).send({ data: { client_crt: clientCrt } });
    },
  );

  app.post(
    '/v1/:realm/devices/:hw_id/protocols/:protocol/credentials/verify',
    {
      schema: {
        tags: ['device'],
        operationId: 'verifyCredentials',
        summary: 'Verify a client certificate for the Astarte MQTT v1 protocol',
        description:
          'Answers `{valid, timestamp, until}` or `{valid: false, timestamp, cause, details: null}`; a revoked certificate ' +
          'gets cause `REVOKED` (an extension: Astarte does not check revocation here).',
        security: [{ CredentialsSecret: [] }],
        params: ProtocolParams,
        body: VerifyBody,
        response: { 200: VerifyReply, ...deviceErrors },
      },
      onRequest: authenticateDevice,
      preValidation: requireMqttV1,
    },
    async (req) => {
      const result = await ctx.core.verifyCredentials(
        req.params.realm,
        req.params.hw_id,
        secretOf(req),
        req.body.data.client_crt,
      );
      ctx.metrics.count('credentials_verified');
      return { data: result };
    },
  );
}
