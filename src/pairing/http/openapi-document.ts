// The OpenAPI document of the pairing server, generated from its route schemas without a core
// (the routes are declared, never called). scripts/write-openapi.ts writes it to docs/openapi.json.
import { buildPairingServer, type PairingServerCore } from './server.ts';

function unused(): never {
  throw new Error('not available while generating the OpenAPI document');
}

const NO_CORE: PairingServerCore = {
  getRealm: () => undefined,
  realm: unused,
  caCertificatePem: unused,
  crlPem: unused,
  ocspResponse: unused,
  registerDevice: unused,
  unregisterDevice: unused,
  getInfo: unused,
  requestCredentials: unused,
  verifyCredentials: unused,
};

/** The document as JSON text (2-space indented, trailing newline), as committed in docs/. */
export async function openApiDocumentText(): Promise<string> {
  const app = await buildPairingServer({ core: NO_CORE });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
