// Astarte device ids: 128 bits, base64url without padding (22 chars). Shared vocabulary: the
// pairing core checks them, labels and devices carry them (serial, sim, station).
import { v5 as uuidv5 } from 'uuid';
import { CommonError } from './common-errors.ts';

/** Astarte's example namespace; realms may configure their own. */
export const DEFAULT_DEVICE_ID_NAMESPACE = 'f79ad91f-c638-4889-ae74-9d001a3b4cf8';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Derive a device id from a manufacturer id (serial, MAC…) as UUIDv5(namespace, data) → base64url. */
export function deriveDeviceId(data: string, namespace: string = DEFAULT_DEVICE_ID_NAMESPACE): string {
  const bytes = new Uint8Array(16);
  uuidv5(data, namespace, bytes);
  return Buffer.from(bytes).toString('base64url');
}

/**
 * Decode a device id to its 16 bytes. Longer ids are truncated to 16 bytes when `allowLonger`
 * (Astarte accepts them on register, info and credentials); otherwise they are rejected.
 */
export function decodeDeviceId(id: string, opts: { allowLonger: boolean }): Buffer {
  if (typeof id !== 'string' || id.length < 22 || !BASE64URL.test(id)) {
    throw new CommonError('INVALID_DEVICE_ID', 'expected 128 bits as base64url without padding, 22 characters');
  }
  if (id.length > 22 && !opts.allowLonger) {
    throw new CommonError('INVALID_DEVICE_ID', 'longer than 22 characters');
  }
  const bytes = Buffer.from(id, 'base64url');
  if (bytes.length < 16) {
    throw new CommonError('INVALID_DEVICE_ID', 'decodes to fewer than 16 bytes');
  }
  return bytes.subarray(0, 16);
}

// 22 characters in canonical form: the last one carries 2 bits of the 128 and 4 zero bits (A, Q, g or w).
const CANONICAL = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** The canonical 22-character form of a device id (truncating longer ids where allowed). */
export function canonicalDeviceId(id: string, opts: { allowLonger: boolean } = { allowLonger: true }): string {
  // Every request names a device: the usual, canonical id is returned as it is, without decoding it.
  if (typeof id === 'string' && id.length === 22 && CANONICAL.test(id)) return id;
  return decodeDeviceId(id, opts).toString('base64url');
}

export function isCanonicalDeviceId(id: string): boolean {
  return typeof id === 'string' && id.length === 22 && BASE64URL.test(id) && Buffer.from(id, 'base64url').length === 16;
}
