// Agent API authentication and authorization, as Astarte's Pairing API does it:
// a JWT signed with the realm's key (asymmetric algorithms only), whose `a_pa` claim lists
// "METHOD::PATH" regexes, each part anchored at both ends, PATH relative to /v1/{realm}/.
// Failures follow Guardian's mapping in Astarte: a token that cannot be verified (malformed, bad
// signature, wrong key or algorithm) is 401 "Invalid JWT token"; a verified token whose claims
// fail (exp, nbf, and our iat check) is 403 "Forbidden".
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { compileScope, type PathRule } from '../agent-token.ts';
import { PairingError } from '../pairing-errors.ts';

interface RealmKey {
  name: string;
  publicKeyPem: string;
}

/** What a verified token allows, cached per (realm, token) for the token's remaining lifetime. */
interface AgentGrant {
  rules: PathRule[];
  /** Cache entry expiry (ms since epoch): the token's `exp`, capped. */
  until: number;
  publicKeyPem: string;
}

const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGORITHMS: Record<string, string[]> = { prime256v1: ['ES256'], secp384r1: ['ES384'], secp521r1: ['ES512'] };
const BEARER = /^bearer:?\s+(.+)$/i;

/**
 * How far in the future a token's `iat` may be (clock skew between the machine that minted it and
 * this server). Astarte does not check `iat`; a token "issued" a day ahead is a forged or broken one.
 */
export const IAT_CLOCK_SKEW_SECONDS = 300;

export function missingTokenError(): PairingError {
  return new PairingError('MISSING_TOKEN');
}

export function invalidTokenError(): PairingError {
  return new PairingError('INVALID_TOKEN');
}

/** A verified token whose claims are refused (expired, not yet valid, issued in the future): Guardian's 403. */
export function refusedTokenError(): PairingError {
  return new PairingError('TOKEN_REFUSED');
}

/** The Bearer credential of an Authorization header (Astarte accepts `Bearer x` and `bearer: x`). */
export function bearerCredential(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = BEARER.exec(value);
  return m ? m[1].trim() || undefined : undefined;
}

/**
 * The path the `a_pa` regexes see, built from the route the router matched and its decoded parameters
 * (never from the request's spelling): `/v1/:realm/agent/devices/:device_id` with device_id `X` is
 * `agent/devices/X`, whether the client wrote `%61gent`, `agent/devices/X/` or `agent/devices/X?q`.
 */
export function authorizationPath(routeUrl: string, params: Record<string, unknown>): string {
  const segments = routeUrl.split('/').filter((s) => s.length > 0);
  if (segments[0] !== 'v1' || segments[1] !== ':realm') throw new Error(`not a realm route: ${routeUrl}`);
  return segments
    .slice(2)
    .map((seg) => (seg === '*' ? String(params['*'] ?? '') : seg.startsWith(':') ? String(params[seg.slice(1)] ?? '') : seg))
    .join('/');
}

function checkPath(grant: AgentGrant, realm: string, method: string, path: string): undefined {
  for (const rule of grant.rules) {
    if (rule.method.test(method) && rule.path.test(path)) return undefined;
  }
  // As Astarte, the message names the full request path (the decoded one the router matched).
  throw new PairingError('UNAUTHORIZED_PATH', {
    message: `Unauthorized access to ${method} /v1/${realm}/${path}. Please verify your permissions`,
  });
}

export class AgentAuthenticator {
  private readonly keys = new Map<string, { pem: string; key: KeyObject | undefined; algorithms: string[] }>();
  private readonly grants = new Map<string, AgentGrant>();
  private readonly now: () => number;
  private readonly maxCachedTokens: number;
  private readonly maxCacheMs: number;

  constructor(opts: { now?: () => number; maxCachedTokens?: number; maxCacheMs?: number } = {}) {
    this.now = opts.now ?? Date.now;
    this.maxCachedTokens = opts.maxCachedTokens ?? 10_000;
    this.maxCacheMs = opts.maxCacheMs ?? 5 * 60_000;
  }

  /**
   * Verify the token of an Authorization header against the realm's key and check that it allows
   * METHOD on the path (relative to /v1/{realm}/). Throws (or rejects with) PairingError MISSING_TOKEN,
   * INVALID_TOKEN (unverifiable), TOKEN_REFUSED (claims refused) or UNAUTHORIZED_PATH. Returns
   * undefined when decided synchronously (cached token), else a promise.
   */
  authorize(
    realm: RealmKey,
    authorization: string | string[] | undefined,
    method: string,
    path: string,
  ): Promise<void> | undefined {
    const token = bearerCredential(authorization);
    if (!token) throw missingTokenError();
    // A token seen before is checked synchronously: no signature verification, no promise.
    const cached = this.cachedGrant(realm, token);
    if (cached) return checkPath(cached, realm.name, method, path);
    return this.verify(realm, token).then((grant) => checkPath(grant, realm.name, method, path));
  }

  private cachedGrant(realm: RealmKey, token: string): AgentGrant | undefined {
    const cacheKey = `${realm.name}\n${token}`;
    const cached = this.grants.get(cacheKey);
    if (!cached) return undefined;
    if (cached.until > this.now() && cached.publicKeyPem === realm.publicKeyPem) return cached;
    this.grants.delete(cacheKey);
    return undefined;
  }

  private async verify(realm: RealmKey, token: string): Promise<AgentGrant> {
    const cacheKey = `${realm.name}\n${token}`;
    const now = this.now();
    const { key, algorithms } = this.keyFor(realm);
    if (!key) throw invalidTokenError();
    let payload: Record<string, unknown>;
    try {
      // jwtVerify refuses `alg: none` and any algorithm outside the list (so every HS*).
      ({ payload } = await jwtVerify(token, key, { algorithms, currentDate: new Date(now) }));
    } catch (e) {
      // Signature verified, claim refused (exp, nbf): Guardian answers these with 403.
      if (e instanceof joseErrors.JWTExpired || e instanceof joseErrors.JWTClaimValidationFailed) throw refusedTokenError();
      throw invalidTokenError();
    }
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + IAT_CLOCK_SKEW_SECONDS) throw refusedTokenError();
    const scopes = Array.isArray(payload.a_pa) ? payload.a_pa : [];
    const rules = scopes.map(compileScope).filter((r): r is PathRule => r !== undefined);
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
    const grant: AgentGrant = { rules, until: Math.min(exp, now + this.maxCacheMs), publicKeyPem: realm.publicKeyPem };
    if (this.grants.size >= this.maxCachedTokens) {
      // Oldest first (Map keeps insertion order): a bounded cache, no unbounded growth under token churn.
      const oldest = this.grants.keys().next().value;
      if (oldest !== undefined) this.grants.delete(oldest);
    }
    this.grants.set(cacheKey, grant);
    return grant;
  }

  private keyFor(realm: RealmKey): { key: KeyObject | undefined; algorithms: string[] } {
    const cached = this.keys.get(realm.name);
    if (cached && cached.pem === realm.publicKeyPem) return cached;
    let entry: { pem: string; key: KeyObject | undefined; algorithms: string[] };
    try {
      const key = createPublicKey(realm.publicKeyPem);
      const type = key.asymmetricKeyType;
      const algorithms =
        type === 'rsa' || type === 'rsa-pss'
          ? RSA_ALGORITHMS
          : type === 'ec'
            ? (EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? [])
            : [];
      entry = { pem: realm.publicKeyPem, key: algorithms.length ? key : undefined, algorithms };
    } catch {
      entry = { pem: realm.publicKeyPem, key: undefined, algorithms: [] };
    }
    this.keys.set(realm.name, entry);
    return entry;
  }
}

export { compileScope };
