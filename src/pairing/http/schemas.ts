// Request and response schemas of the pairing HTTP API (Astarte Pairing API v1 + our extensions).
// Fastify validates with them and @fastify/swagger turns them into docs/openapi.json.
import { Type } from 'typebox';

export const RealmParams = Type.Object({
  realm: Type.String({ description: 'Name of the realm the device belongs to.' }),
});

export const DeviceParams = Type.Object({
  realm: Type.String({ description: 'Name of the realm the device belongs to.' }),
  hw_id: Type.String({
    description: 'Device id: 128 bits as base64url without padding (22 characters); longer ids are truncated to 16 bytes.',
  }),
});

export const UnregisterParams = Type.Object({
  realm: Type.String({ description: 'Name of the realm the device belongs to.' }),
  device_id: Type.String({ description: 'Device id, exactly 22 characters (longer ids are rejected here, as in Astarte).' }),
});

export const ProtocolParams = Type.Object({
  realm: Type.String({ description: 'Name of the realm the device belongs to.' }),
  hw_id: Type.String({ description: 'Device id (see getInfo).' }),
  protocol: Type.String({ description: 'Transport protocol: only `astarte_mqtt_v1` exists.' }),
});

const IntrospectionEntry = Type.Object(
  {
    major: Type.Integer({ minimum: 0, description: 'Major version of the interface.' }),
    minor: Type.Integer({ minimum: 0, description: 'Minor version of the interface.' }),
  },
  { title: 'IntrospectionEntry' },
);

export const RegisterBody = Type.Object({
  data: Type.Object(
    {
      hw_id: Type.String({ minLength: 1, description: 'Device id (22-character base64url; longer ids are truncated).' }),
      initial_introspection: Type.Optional(
        Type.Record(Type.String(), IntrospectionEntry, {
          description: 'Optional initial introspection: interface name → {major, minor}.',
        }),
      ),
    },
    { title: 'DeviceRegistrationRequest' },
  ),
});

export const RegisterReply = Type.Object(
  {
    data: Type.Object(
      { credentials_secret: Type.String({ description: '32 random bytes, standard Base64 (44 characters).' }) },
      { title: 'DeviceRegistrationResponse' },
    ),
  },
  { description: 'Device registered' },
);

export const InfoReply = Type.Object(
  {
    data: Type.Object(
      {
        version: Type.String(),
        status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('inhibited')]),
        protocols: Type.Object({
          astarte_mqtt_v1: Type.Object({ broker_url: Type.String() }),
        }),
      },
      { title: 'InfoResponse' },
    ),
  },
  { description: 'Device status and transports' },
);

export const CredentialsBody = Type.Object({
  data: Type.Object(
    { csr: Type.String({ minLength: 1, description: 'PEM certificate signing request (ECDSA P-256 or RSA-2048).' }) },
    { title: 'AstarteMQTTV1CredentialsRequest' },
  ),
});

export const CredentialsReply = Type.Object(
  {
    data: Type.Object(
      { client_crt: Type.String({ description: 'PEM certificate, subject CN `<realm>/<device id>`.' }) },
      { title: 'AstarteMQTTV1CredentialsResponse' },
    ),
  },
  { description: 'Credentials created' },
);

export const VerifyBody = Type.Object({
  data: Type.Object({ client_crt: Type.String({ minLength: 1 }) }, { title: 'AstarteMQTTV1VerifyCredentialsRequest' }),
});

const Timestamp = Type.String({ description: 'UTC time as `YYYY-MM-DD HH:MM:SS.mmmZ`.' });

export const VerifyReply = Type.Object(
  {
    data: Type.Union(
      [
        Type.Object({ valid: Type.Literal(true), timestamp: Timestamp, until: Timestamp }),
        Type.Object({
          valid: Type.Literal(false),
          timestamp: Timestamp,
          cause: Type.String({
            description:
              "Astarte's: EXPIRED (also before notBefore), INVALID_ISSUER, INVALID_SIGNATURE, INVALID; our extension: REVOKED.",
          }),
          details: Type.Null(),
        }),
      ],
      { title: 'AstarteMQTTV1VerifyCredentialsResponse' },
    ),
  },
  { description: 'Credentials verified' },
);

export const VersionReply = Type.Object({ data: Type.String() }, { description: 'Server version' });

/** `{"errors":{"detail":"..."}}`, or per-field lists `{"errors":{"hw_id":["can't be blank"]}}` with 422. */
export function errorReply(description: string) {
  return Type.Object(
    { errors: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])) },
    { title: 'ErrorResponse', description },
  );
}

export const ErrorReplies = {
  400: errorReply('Bad request: the body is not `{"data": {...}}`, or an unknown protocol'),
  401: errorReply('Missing or invalid authorization ("Missing authorization token", "Invalid JWT token", "Unauthorized")'),
  403: errorReply('Forbidden: unknown realm, wrong credentials secret, token scope (`a_pa`) mismatch, or inhibited device'),
  404: errorReply('Device not found'),
  422: errorReply('Unprocessable entity: per-field errors, malformed device id, already registered, limit reached, bad CSR'),
};

export const PemText = Type.String({ description: 'PEM text' });
