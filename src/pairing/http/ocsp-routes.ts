// OCSP (RFC 6960) for the core's CA: POST /v1/{realm}/ca/ocsp with a DER request, or GET with the
// request base64-encoded in the path (Appendix A.1). The URL is in every issued certificate's
// authorityInfoAccess when `pairing serve` knows its public URL.
import { Type } from 'typebox';
import { requireRealm } from './realm-guard.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import { ErrorReplies, RealmParams } from './schemas.ts';

const OCSP_REQUEST = 'application/ocsp-request';
const OCSP_RESPONSE = 'application/ocsp-response';
/** An OCSP request for a handful of certificates is well under 1 KiB. */
const OCSP_BODY_LIMIT = 16 * 1024;

const OcspReply = Type.String({ description: 'DER OCSPResponse (application/ocsp-response), signed by the CA' });

function fromPathBase64(s: string): Buffer | undefined {
  // The router has percent-decoded the path; a "+" may have become a space on the way.
  const b64 = s.replace(/ /g, '+');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0 || b64.length > OCSP_BODY_LIMIT) return undefined;
  return Buffer.from(b64, 'base64');
}

export function registerOcspRoutes(app: PairingFastify, ctx: RouteContext): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(OCSP_REQUEST, { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    const answer = (realm: string, der: Buffer | undefined) => ctx.core.ocspResponse(realm, der ?? Buffer.alloc(0));

    scope.post(
      '/v1/:realm/ca/ocsp',
      {
        schema: {
          tags: ['ca'],
          operationId: 'ocsp',
          summary: 'OCSP responder (RFC 6960) for the CA: status of a certificate (good, revoked with time and reason, unknown)',
          description:
            'Body: a DER OCSPRequest (`application/ocsp-request`). Answer: a DER OCSPResponse signed by the CA, with ' +
            'thisUpdate = now and nextUpdate one hour later, the request nonce echoed. Certificates this CA never issued ' +
            'for the realm are `unknown`; an unreadable request gets the `malformedRequest` status.',
          params: RealmParams,
          consumes: [OCSP_REQUEST],
          produces: [OCSP_RESPONSE],
          response: { 200: OcspReply, 403: ErrorReplies[403] },
        },
        // The body is raw DER, parsed by the CA; the schema is for the document.
        validatorCompiler: () => () => true,
        onRequest: async (req) => void (await requireRealm(ctx, req)),
      },
      async (req, reply) => {
        const der = Buffer.isBuffer(req.body) ? req.body : undefined;
        return reply.type(OCSP_RESPONSE).send(await answer((req.params as { realm: string }).realm, der));
      },
    );

    scope.get(
      '/v1/:realm/ca/ocsp/*',
      {
        schema: {
          tags: ['ca'],
          operationId: 'ocspGet',
          summary: 'OCSP over GET: the DER OCSPRequest base64-encoded (then URL-encoded) as the last path part',
          params: Type.Object({ realm: Type.String(), '*': Type.String() }),
          produces: [OCSP_RESPONSE],
          response: { 200: OcspReply, 403: ErrorReplies[403] },
        },
        onRequest: async (req) => void (await requireRealm(ctx, req)),
      },
      async (req, reply) => {
        const params = req.params as { realm: string; '*': string };
        const der = fromPathBase64(params['*']);
        // RFC 5019: GET answers may be cached until nextUpdate.
        return reply
          .type(OCSP_RESPONSE)
          .header('cache-control', 'max-age=3600, public, no-transform, must-revalidate')
          .send(await answer(params.realm, der));
      },
    );
  });
}
