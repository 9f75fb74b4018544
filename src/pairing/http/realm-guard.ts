// Every /v1/{realm}/… route starts here: an unknown realm is 403 "Forbidden", before any other
// check (Astarte does not reveal which realms exist).
import type { FastifyRequest } from 'fastify';
import { PairingError } from '../pairing-api.ts';
import type { RouteContext } from './server.ts';

/** The realm named in the request's path. */
export function requireRealm(ctx: RouteContext, req: FastifyRequest): { name: string; publicKeyPem: string } {
  const name = (req.params as { realm?: string }).realm ?? '';
  const realm = ctx.core.getRealm(name);
  if (!realm) throw new PairingError('REALM_NOT_FOUND', 403, 'Forbidden');
  return realm;
}
