// A pairing server on 127.0.0.1 with fleet claims (and optionally Foundries /sign) over a throwaway
// core whose audit trail is <data>/audit.db, for the claims and /sign tests.
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { ClaimService } from '../../src/pairing/claims/claim-service.ts';
import { ClaimSigningKey } from '../../src/pairing/claims/claim-token.ts';
import { CoreAudit, openCoreAuditTrail } from '../../src/pairing/core-audit.ts';
import { SignService } from '../../src/pairing/foundries/sign-service.ts';
import { buildPairingServer, type PairingFastify } from '../../src/pairing/http/server.ts';
import { openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';

export const FACTORY = 'acme-plant';

export interface ClaimsServer {
  base: string;
  app: PairingFastify;
  t: TestCore;
  realm: string;
  claims: ClaimService;
  sign?: SignService;
  trail: AuditTrail;
  post(
    path: string,
    body: unknown,
    opts?: { raw?: string; contentType?: string },
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startClaimsServer(
  opts: { now?: () => Date; sign?: boolean; deviceRegistrationLimit?: number; gatewayUrl?: string } = {},
): Promise<ClaimsServer> {
  const t = await openTestCore({ now: opts.now, deviceRegistrationLimit: opts.deviceRegistrationLimit });
  const trail = openCoreAuditTrail(t.dataDir);
  const audit = new CoreAudit(trail);
  const claims = new ClaimService(t.core, await ClaimSigningKey.loadOrCreate(t.dataDir), { audit });
  let sign: SignService | undefined;
  if (opts.sign) {
    await t.core.createRealm({ name: 'fio', publicKeyPem: makeAgentKeyPair().publicKeyPem, factory: FACTORY });
    sign = await SignService.open(t.core, { realm: 'fio', audit, gatewayUrl: opts.gatewayUrl ?? 'https://gw.plant.test:8443' });
  }
  const app = await buildPairingServer({ core: t.core, claims, sign });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    base,
    app,
    t,
    realm: t.realm.name,
    claims,
    sign,
    trail,
    async post(path, body, o = {}) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': o.contentType ?? 'application/json' },
        body: o.raw ?? JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await app.close();
      trail.close();
      await t.cleanup();
    },
  };
}
