// The native addon (native/ec-fast/ec_fast.c) for the CSR check, the CA's signature, the secret's HMAC and a read-only view
// of a SQLite WAL-index header (the row cache's commit check), when it is built (`npm install` builds it;
// scripts/build-native.mjs). Without it, or with IMPRINT_NATIVE_ECDSA=off, callers use
// node:crypto: same answers, ~150–200 µs more CPU per certificate (docs/performance.md).
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

interface EcFastAddon {
  verify(curveBits: number, point: Uint8Array, hashBits: number, data: Uint8Array, signature: Uint8Array): number;
  signer(curveBits: number, privateScalar: Uint8Array): object;
  sign(signer: object, hashBits: number, data: Uint8Array): Buffer;
  hmacSha256Equals(key: Uint8Array, text: string, expected: Uint8Array): boolean;
  shmView(path: string): object | null;
  shmMoved(view: object): boolean;
}

export type EcCurve = 'P-256' | 'P-384';
type Hash = 'sha256' | 'sha384' | 'sha512';

const CURVE_BITS: Record<EcCurve, number> = { 'P-256': 256, 'P-384': 384 };
const HASH_BITS: Record<string, number> = { sha256: 256, sha384: 384, sha512: 512 };
const NODE_CURVES: Record<string, EcCurve> = { prime256v1: 'P-256', secp384r1: 'P-384' };

function load(): { addon?: EcFastAddon; why: string } {
  if (process.env.IMPRINT_NATIVE_ECDSA === 'off') return { why: 'turned off (IMPRINT_NATIVE_ECDSA=off)' };
  try {
    const addon = createRequire(import.meta.url)('../../native/ec-fast/build/Release/ec_fast.node') as EcFastAddon;
    return { addon, why: 'loaded' };
  } catch (e) {
    return { why: `not built (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run npm install` };
  }
}

const loaded = load();

/** Whether this thread uses the addon, and why not when it does not (for /metrics and the startup log). */
export const nativeEcdsa: { readonly active: boolean; readonly status: string } = {
  active: loaded.addon !== undefined,
  status: loaded.why,
};

/**
 * Checks an ECDSA signature with a SEC1 public point: true/false, or 'bad-key' when the point is not a valid key
 * of the curve. undefined when the addon is not active (the caller verifies with node:crypto).
 */
export function nativeEcVerify(
  curve: EcCurve,
  point: Uint8Array,
  hash: Hash,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | 'bad-key' | undefined {
  if (!loaded.addon) return undefined;
  const r = loaded.addon.verify(CURVE_BITS[curve], point, HASH_BITS[hash], data, signature);
  return r === -1 ? 'bad-key' : r === 1;
}

/** Per CA key object (one per thread): its native signer, or null when the key is not one the addon signs with. */
const signers = new WeakMap<KeyObject, object | null>();

function signerFor(key: KeyObject): object | null {
  let s = signers.get(key);
  if (s === undefined) {
    s = null;
    const curve = key.type === 'private' ? NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
    const d = curve ? key.export({ format: 'jwk' }).d : undefined;
    if (loaded.addon && curve && d) {
      const scalar = Buffer.from(d, 'base64url');
      s = loaded.addon.signer(CURVE_BITS[curve], scalar);
      scalar.fill(0);
    }
    signers.set(key, s);
  }
  return s;
}

/** The DER ECDSA signature by `key` over `data`, or undefined when the addon is not active or not for this key. */
export function nativeEcSign(key: KeyObject, hash: string, data: Uint8Array): Buffer | undefined {
  const bits = HASH_BITS[hash];
  const s = loaded.addon && bits ? signerFor(key) : null;
  return s ? loaded.addon?.sign(s, bits, data) : undefined;
}

/** Whether nativeEcSign signs with `key` and `hash` (the addon is active and the key is an EC key it takes). */
export function nativeEcSigns(key: KeyObject, hash: string): boolean {
  return loaded.addon !== undefined && HASH_BITS[hash] !== undefined && signerFor(key) !== null;
}

/**
 * Whether HMAC-SHA256(key, UTF-8 of `text`) equals `expected`, compared in constant time; undefined when the addon
 * is not active (the caller computes it with node:crypto). The credentials secret's check (pairing/secret-hash.ts).
 */
export function nativeHmacSha256Equals(key: Uint8Array, text: string, expected: Uint8Array): boolean | undefined {
  return loaded.addon?.hmacSha256Equals(key, text, expected);
}

/** A read-only view of a SQLite WAL-index's header (the -shm file); see nativeWalIndexView. */
export interface WalIndexView {
  /**
   * Whether the header changed since the previous call (true on the first): SQLite rewrites it on every commit,
   * by any connection of any process. Call only while a connection of this process keeps the database open.
   */
  moved(): boolean;
}

/**
 * A view of `shmPath`'s WAL-index header, or undefined when the addon is not active or the file cannot be mapped
 * (missing, not a WAL-index yet).
 */
export function nativeWalIndexView(shmPath: string): WalIndexView | undefined {
  const addon = loaded.addon;
  const view = addon?.shmView(shmPath);
  if (!addon || !view) return undefined;
  return { moved: () => addon.shmMoved(view) };
}
