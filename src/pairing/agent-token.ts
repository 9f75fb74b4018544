// Agent JWTs as Astarte understands them: signed with the realm's private key, claim `a_pa` =
// list of "METHOD::PATH" regexes. Used by `imprint pairing token`, the station and the tests.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { PairingSetupError } from './setup-errors.ts';

/** Every agent API route, every method. */
export const ALL_ACCESS_SCOPE = '.*::.*';

/** One compiled `a_pa` entry. */
export interface PathRule {
  method: RegExp;
  path: RegExp;
}

/**
 * One `a_pa` entry "METHOD::PATH" → method and path regexes, each anchored at both ends; undefined when
 * malformed (no `::`, or a regex that does not compile). A server ignores such entries, as Astarte does;
 * `mintAgentToken` refuses them.
 */
export function compileScope(scope: unknown): PathRule | undefined {
  if (typeof scope !== 'string') return undefined;
  const sep = scope.indexOf('::');
  if (sep < 0) return undefined;
  try {
    // Grouped so that an alternation such as `GET|POST` stays inside the anchors.
    return { method: new RegExp(`^(?:${scope.slice(0, sep)})$`), path: new RegExp(`^(?:${scope.slice(sep + 2)})$`) };
  } catch {
    return undefined;
  }
}

/** Throws ImprintError INVALID_SCOPE naming the first entry that a server would ignore. */
export function checkScopes(scopes: readonly string[]): void {
  for (const scope of scopes) {
    if (!scope.includes('::'))
      throw new PairingSetupError('INVALID_SCOPE', `Scope "${scope}" must look like METHOD::PATH (e.g. POST::agent/devices)`);
    if (!compileScope(scope))
      throw new PairingSetupError('INVALID_SCOPE', `Scope "${scope}" is not a valid regular expression on both sides of "::"`);
  }
}

export interface MintAgentTokenOptions {
  /** PEM (PKCS#8, SEC1 or PKCS#1) or a KeyObject. */
  privateKey: string | KeyObject;
  /** `a_pa` entries; default: everything. */
  scopes?: string[];
  /** Astarte claims to sign instead of `{a_pa: scopes}` (`imprint utils gen-jwt`: a_aea, a_rma, a_pa, …). */
  claims?: Record<string, string[]>;
  /** Lifetime in seconds; 0 or undefined = no `exp` claim. */
  ttlSeconds?: number;
  /** `sub` claim, for humans reading the token. */
  subject?: string;
  now?: () => Date;
}

/** The JWS algorithm a realm key implies: ES256/384/512 by curve, RS256 for RSA, PS256 for RSA-PSS keys. */
export function algorithmForKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const alg = {
        prime256v1: 'ES256',
        'P-256': 'ES256',
        secp384r1: 'ES384',
        'P-384': 'ES384',
        secp521r1: 'ES512',
        'P-521': 'ES512',
      }[details?.namedCurve ?? ''];
      if (alg) return alg;
      throw new PairingSetupError(
        'UNSUPPORTED_KEY',
        `Unsupported EC curve ${details?.namedCurve ?? '(unknown)'}: use P-256, P-384 or P-521`,
      );
    }
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    default:
      throw new PairingSetupError(
        'UNSUPPORTED_KEY',
        `Unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}: Astarte agent tokens use RSA or EC (P-256/384/521) keys`,
      );
  }
}

export function parsePrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // No cause attached: the parser's message could quote part of the key material.
    throw new PairingSetupError('INVALID_KEY', 'Not a PEM private key (expected PKCS#8, SEC1 or PKCS#1)');
  }
}

export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new PairingSetupError('INVALID_KEY', 'Not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")');
  }
  if (key.type !== 'public') throw new PairingSetupError('INVALID_KEY', 'Expected a public key, got a private key');
  algorithmForKey(key);
  return key;
}

/** Sign an agent token for a realm. */
export async function mintAgentToken(opts: MintAgentTokenOptions): Promise<string> {
  const key = typeof opts.privateKey === 'string' ? parsePrivateKey(opts.privateKey) : opts.privateKey;
  const alg = algorithmForKey(key);
  // A token whose scopes a server would silently ignore would fail later, far from the typo.
  if (opts.scopes) checkScopes(opts.scopes);
  const nowSec = Math.floor((opts.now?.() ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT(opts.claims ?? { a_pa: opts.scopes ?? [ALL_ACCESS_SCOPE] })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuedAt(nowSec);
  if (opts.ttlSeconds && opts.ttlSeconds > 0) jwt.setExpirationTime(nowSec + Math.floor(opts.ttlSeconds));
  if (opts.subject) jwt.setSubject(opts.subject);
  return jwt.sign(key);
}

/** A fresh EC P-256 realm key pair (PKCS#8 private, SPKI public), as `imprint pairing keygen` writes it. */
export function generateRealmKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
