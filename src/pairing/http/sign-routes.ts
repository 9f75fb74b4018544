// Foundries-compatible registration: POST /sign as factory-registration-ref answers it (lmp-device-register
// with DEVICE_API=<core>/sign). Enabled only by `imprint pairing serve --sign-realm REALM` (else 404).
import { Type } from 'typebox';
import type { SignService } from '../foundries/sign-service.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';

export type SignApi = Pick<SignService, 'signText'>;

const ErrorReply = (description: string) =>
  Type.Object({ errors: Type.Record(Type.String(), Type.String()) }, { title: 'SignErrorResponse', description });

const SignBody = Type.Object(
  {
    csr: Type.String({ description: 'PEM CSR: EC P-256 key, subject CN=<uuid>, OU=<factory>[, businessCategory=production].' }),
    'hardware-id': Type.String({ description: 'Hardware type (sota.toml primary_ecu_hardware_id).' }),
    uuid: Type.Optional(Type.String({ description: "Device UUID; must equal the CSR's CN." })),
    name: Type.Optional(Type.String({ description: 'Device name (recorded).' })),
    'sota-config-dir': Type.Optional(Type.String({ description: 'Absolute directory of the sota files, default /var/sota.' })),
    'use-ostree-server': Type.Optional(Type.Union([Type.Boolean(), Type.String()], { description: 'Accepted, not used.' })),
    overrides: Type.Optional(
      Type.Record(Type.String(), Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])), {
        description: 'sota.toml overrides: section → key → TOML value text ("" or null: unset).',
      }),
    ),
    group: Type.Optional(Type.String({ description: 'Refused with 400: a device may not choose its device group.' })),
  },
  { title: 'FoundriesSignRequest' },
);

const SignReplySchema = Type.Object(
  {
    'root.crt': Type.String({ description: 'Root certificate the device trusts (PEM).' }),
    'sota.toml': Type.String({ description: 'aktualizr-lite configuration.' }),
    'client.pem': Type.String({ description: 'The device certificate (PEM), subject kept from the CSR.' }),
    'client.chained': Type.String({ description: 'client.pem followed by the CA certificate.' }),
  },
  { title: 'FoundriesSignResponse', description: 'Device registered: lmp-device-register writes each member as a file' },
);

export function registerSignRoutes(app: PairingFastify, ctx: RouteContext, sign: SignApi | undefined): void {
  void app.register(async (scope) => {
    // The body is parsed by the service, so that bad JSON is a clear, audited 400 like any other bad input.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    scope.post(
      '/sign',
      {
        schema: {
          tags: ['foundries'],
          operationId: 'foundriesSign',
          summary: 'Register a Foundries device (factory-registration-ref compatible)',
          description:
            'The body lmp-device-register sends (its values are all JSON strings). The CSR must prove possession of its ' +
            "key, carry OU = the realm's factory and CN = the uuid; a UUID registers once until an operator re-opens it " +
            '(`imprint pairing sign reopen REALM UUID`). Every registration and refusal is audited.',
          body: SignBody,
          response: {
            201: SignReplySchema,
            400: ErrorReply('Bad JSON, a missing or malformed field, or a `group` field'),
            403: ErrorReply("The CSR's OU is not the realm's factory"),
            409: ErrorReply('The UUID is already registered (re-open it first), or its device id is used by another device'),
            404: ErrorReply('/sign is not enabled on this server (imprint pairing serve --sign-realm REALM)'),
            415: ErrorReply('The body is not application/json'),
            422: ErrorReply('Bad CSR: malformed, no CN or OU, or its signature does not verify'),
          },
        },
        // Schema for the document only: the service checks the raw text itself.
        validatorCompiler: () => () => true,
      },
      async (req, reply) => {
        if (!sign) return reply.code(404).send({ errors: { detail: 'Page not found' } });
        const answer = await sign.signText(typeof req.body === 'string' ? req.body : '');
        ctx.metrics.count('signs');
        return reply.code(201).send(answer);
      },
    );

    // lmp-device-register first checks the endpoint with a HEAD request (any answer below 500 will do).
    scope.head('/sign', { schema: { hide: true } }, async (_req, reply) => reply.code(sign ? 204 : 404).send());
  });
}
