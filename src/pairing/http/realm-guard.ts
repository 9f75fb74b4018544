// Every /v1/{realm}/… route starts here: an unknown realm is 403 "Forbidden", before any other
// check (Astarte does not reveal which realms exist).
import type { FastifyRequest } from 'fastify';
import { PairingError } from '../pairing-errors.ts';
import type { RouteContext } from './route-context.ts';

type Realm = { name: string; publicKeyPem: string };

function found(realm: Realm | undefined): Realm {
  if (!realm) throw new PairingError('REALM_NOT_FOUND');
  return realm;
}

/** The realm named in the request's path: at once when the core knows it, else after asking its store. */
export function requireRealm(ctx: RouteContext, req: FastifyRequest): Realm | Promise<Realm> {
  const name = (req.params as { realm?: string }).realm ?? '';
  return ctx.core.getRealm(name) ?? ctx.core.realm(name).then(found);
}
