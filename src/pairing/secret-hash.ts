// Stored form of credentials secrets. Self-describing and versioned (PHC string format) so that any
// core can verify a hash made by another one with no shared key: see docs/secret-hash.md.
// A 256-bit random secret cannot be brute-forced, so a fast salted hash is enough; imported bcrypt
// hashes (Astarte migrations) are slow by design, so their successful checks are cached in memory.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { pooledRandomBytes } from '../common/random-pool.ts';
import { nativeHmacSha256Equals } from './native-addon.ts';
import { PairingSetupError } from './setup-errors.ts';

export const IMPRINT_HASH_ID = 'imprint-sha256';
export const IMPRINT_HASH_VERSION = 1;
const SALT_BYTES = 16;
const DIGEST_BYTES = 32;

// `$imprint-sha256$v=1$<salt>$<digest>`, both in standard Base64 without padding (PHC convention).
const IMPRINT_HASH = /^\$imprint-sha256\$v=(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export type SecretHashScheme = 'imprint-sha256-v1' | 'bcrypt';

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

function imprintDigest(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** Hash a credentials secret for storage (current scheme). */
export function hashSecret(secret: string, salt: Buffer = pooledRandomBytes(SALT_BYTES)): string {
  return `$${IMPRINT_HASH_ID}$v=${IMPRINT_HASH_VERSION}$${b64(salt)}$${b64(imprintDigest(salt, secret))}`;
}

/** The scheme of a stored hash, or undefined when it is not one this core can verify. */
export function secretHashScheme(stored: string): SecretHashScheme | undefined {
  if (typeof stored !== 'string') return undefined;
  const m = IMPRINT_HASH.exec(stored);
  if (m) return m[1] === '1' ? 'imprint-sha256-v1' : undefined;
  if (BCRYPT_HASH.test(stored)) return 'bcrypt';
  return undefined;
}

/** Throws a clear error for a hash no core of this version can verify (e.g. on import). */
export function assertSupportedSecretHash(stored: string): SecretHashScheme {
  const scheme = secretHashScheme(stored);
  if (!scheme) {
    throw new PairingSetupError('UNSUPPORTED_SECRET_HASH');
  }
  return scheme;
}

interface ImprintHash {
  salt: Buffer;
  digest: Buffer;
}

// Stored hashes already parsed (the device's row is read on every request it makes): the regular expression and
// two Base64 decodings cost more than the HMAC itself. Only what a stored hash says publicly is kept; when full it
// starts over (a bound on memory, not an LRU).
const PARSED_MAX = 20_000;
const parsed = new Map<string, ImprintHash | null>();

function parseImprint(stored: string): ImprintHash | null {
  let p = parsed.get(stored);
  if (p !== undefined) return p;
  const m = IMPRINT_HASH.exec(stored);
  p = null;
  if (m?.[1] === '1') {
    const salt = Buffer.from(m[2], 'base64');
    const digest = Buffer.from(m[3], 'base64');
    if (salt.length === SALT_BYTES && digest.length === DIGEST_BYTES) p = { salt, digest };
  }
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(stored, p);
  return p;
}

function verifyImprint(secret: string, stored: string): boolean {
  const h = parseImprint(stored);
  if (!h) return false;
  return nativeHmacSha256Equals(h.salt, secret, h.digest) ?? timingSafeEqual(imprintDigest(h.salt, secret), h.digest);
}

// Successful bcrypt verifications, keyed by a digest of (hash, secret): a device calling info and
// credentials repeatedly must not pay a bcrypt round each time. Failures are never cached.
const BCRYPT_CACHE_MAX = 10_000;
const bcryptCache = new Map<string, true>();

function bcryptCacheKey(secret: string, stored: string): string {
  return createHash('sha256').update(stored).update('\0').update(secret, 'utf8').digest('base64');
}

async function verifyBcrypt(secret: string, stored: string): Promise<boolean> {
  const key = bcryptCacheKey(secret, stored);
  if (bcryptCache.has(key)) {
    // Refresh its position so the cache evicts the least recently used entry.
    bcryptCache.delete(key);
    bcryptCache.set(key, true);
    return true;
  }
  // bcryptjs compares the full hash itself, in a constant-time manner.
  const ok = await bcrypt.compare(secret, stored).catch(() => false);
  if (ok) {
    if (bcryptCache.size >= BCRYPT_CACHE_MAX) bcryptCache.delete(bcryptCache.keys().next().value as string);
    bcryptCache.set(key, true);
  }
  return ok;
}

/**
 * Whether `secret` matches the stored hash. Synchronous for the native scheme (the hot path);
 * bcrypt hashes are checked asynchronously so they never block the event loop for long.
 */
export function verifySecret(secret: string, stored: string | null | undefined): boolean | Promise<boolean> {
  if (typeof secret !== 'string' || typeof stored !== 'string' || secret.length === 0) return false;
  if (stored.startsWith(`$${IMPRINT_HASH_ID}$`)) return verifyImprint(secret, stored);
  if (BCRYPT_HASH.test(stored)) return verifyBcrypt(secret, stored);
  return false;
}

/** How many successful bcrypt verifications are cached (for tests and metrics). */
export function secretHashCacheSize(): number {
  return bcryptCache.size;
}

/** For tests: forget cached bcrypt verifications. */
export function clearSecretHashCache(): void {
  bcryptCache.clear();
}
