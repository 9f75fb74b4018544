// The OpenAPI document's frame; paths come from the route schemas via @fastify/swagger.
// docs/openapi.json is generated from it by scripts/write-openapi.ts (a test keeps them equal).
import type { SwaggerOptions } from '@fastify/swagger';

export function openApiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Imprint Pairing API',
        version,
        description:
          "Astarte Pairing API v1, as served by Imprint's pairing core (`imprint pairing serve`). Same routes, bodies, " +
          'statuses and error texts as Astarte, with these differences: clear 4xx answers where Astarte answers 500 ' +
          '(inhibited device, registration limit, malformed device id), a `REVOKED` verify cause, the CA certificate and ' +
          'CRL routes, and `/health`, `/metrics`, `/openapi.json`. Error answers also carry an `x-imprint-error` header ' +
          'with a machine-readable code. See docs/pairing-api.md.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: 'http://127.0.0.1:4003', description: 'imprint pairing serve (default address)' }],
      tags: [
        { name: 'agent', description: 'Device registration and credentials secret emission (agent JWT).' },
        { name: 'device', description: 'Device info and credentials (Bearer credentials secret).' },
        { name: 'ca', description: 'Certificate authority: CA certificate and CRL (public).' },
        { name: 'service', description: 'Version, health, metrics and this document.' },
        { name: 'claims', description: 'Device self-registration with a fleet claim token (our extension, no agent JWT).' },
        {
          name: 'foundries',
          description: 'Foundries lmp-device-register compatible /sign (only with `imprint pairing serve --sign-realm`).',
        },
        {
          name: 'imports',
          description: 'Offline batch import (secret hashes, never secrets) and the central audit of every station (agent JWT).',
        },
      ],
      components: {
        securitySchemes: {
          JWT: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'Agent token signed with the realm private key (RS/PS/ES 256/384/512). Claim `a_pa`: list of "METHOD::PATH" ' +
              'regexes, both anchored, PATH relative to /v1/{realm}/.',
          },
          CredentialsSecret: {
            type: 'http',
            scheme: 'bearer',
            description: "The device's credentials secret (44-character Base64).",
          },
        },
      },
    },
  };
}
