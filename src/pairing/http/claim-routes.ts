// Device claims with a fleet claim token (no agent JWT): POST /v1/{realm}/claims.
import { Type } from 'typebox';
import type { ClaimService } from '../claims/claim-service.ts';
import { PairingError } from '../pairing-errors.ts';
import { requireRealm } from './realm-guard.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import { ErrorReplies, errorReply, RealmParams } from './schemas.ts';

export type ClaimApi = Pick<ClaimService, 'claim'>;

export const ClaimBody = Type.Object({
  data: Type.Object(
    {
      token: Type.String({
        minLength: 1,
        description: 'The claim token (an ES256 JWT minted by `imprint pairing claim-token create`).',
      }),
      manufacturer_id: Type.String({
        minLength: 1,
        description: "The device's manufacturer id (serial number or MAC): 1 to 256 printable ASCII characters, no spaces.",
      }),
    },
    { title: 'DeviceClaimRequest' },
  ),
});

export const ClaimReply = Type.Object(
  {
    data: Type.Object(
      {
        device_id: Type.String({
          description: 'UUIDv5(realm namespace, manufacturer_id) as a 22-character base64url device id.',
        }),
        credentials_secret: Type.String({ description: '32 random bytes, standard Base64 (44 characters). Shown once.' }),
        pairing_url: Type.String({ description: 'Base URL of the pairing API (for the device SDK).' }),
        broker_url: Type.String({ description: "The realm's MQTT broker URL." }),
      },
      { title: 'DeviceClaimResponse' },
    ),
  },
  { description: 'Device claimed and registered' },
);

const notEnabled = () => new PairingError('NOT_ENABLED');

export function registerClaimRoutes(app: PairingFastify, ctx: RouteContext, claims: ClaimApi | undefined): void {
  app.post(
    '/v1/:realm/claims',
    {
      schema: {
        tags: ['claims'],
        operationId: 'claimDevice',
        summary: 'Claim (self-register) a device with a fleet claim token',
        description:
          'A device registers itself with a claim token minted by plant IT and its manufacturer id. The core checks the ' +
          "token's signature (ES256, this core's claim-signing key), realm, expiry, revocation, remaining uses and serial " +
          'pattern, then registers the device (id derived from the manufacturer id) and answers its credentials secret. ' +
          'A manufacturer id already claimed, or a device id the realm already knows (e.g. registered by a station), is ' +
          '409: a claim never takes a device over. Uses are counted atomically. Every claim and refusal is audited.',
        params: RealmParams,
        body: ClaimBody,
        response: {
          201: ClaimReply,
          400: ErrorReplies[400],
          401: errorReply('Claim token invalid (signature, algorithm, form) or expired'),
          403: errorReply(
            'Unknown realm, token revoked, for another realm, used up, or manufacturer id outside its serial pattern',
          ),
          404: errorReply('Claims are not enabled on this server'),
          409: errorReply('Manufacturer id already claimed, or device id already registered'),
          422: errorReply('Invalid manufacturer_id, or the realm registration limit is reached'),
        },
      },
      onRequest: async (req) => void (await requireRealm(ctx, req)),
    },
    async (req, reply) => {
      if (!claims) throw notEnabled();
      const { token, manufacturer_id } = req.body.data;
      const r = await claims.claim(req.params.realm, token, manufacturer_id);
      ctx.metrics.count('claims');
      return reply.code(201).send({
        data: {
          device_id: r.deviceId,
          credentials_secret: r.credentialsSecret,
          pairing_url: r.pairingUrl,
          broker_url: r.brokerUrl,
        },
      });
    },
  );
}
