// SubjectPublicKeyInfo of a device key: which keys we accept, and a fast import into a Node KeyObject.
// EC keys are kept as their SEC1 point: the native addon checks signatures with it directly (pairing/native-addon.ts).
// Otherwise, why JWK: with OpenSSL 3, createPublicKey on SPKI DER costs ~120 µs (generic decoder) while a JWK
// import costs ~80 µs for EC P-256 (curve setup and point validation) and ~5 µs for RSA. The SPKI bytes go
// into the certificate unchanged once their structure and the key itself have been validated.
// The import is split from the description so that it can run on a signing thread (signing-threads.ts), so the
// description is plain data (its buffers arrive there as Uint8Array).
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { EcCurve } from '../native-addon.ts';
import { children, content, DerError, expectTag, oid, readWhole, TAG, type Tlv } from './der-codec.ts';
import type { KeyFamily } from './signature-algorithms.ts';

/** A structurally valid device key that passed the policy, not yet imported. */
export interface DeviceKeyDescription {
  family: KeyFamily;
  /** e.g. "EC P-256", "RSA 2048": harmless, for messages. */
  description: string;
  spki: Buffer;
  /** An EC key: its curve and SEC1 point (compressed or not). */
  ec?: { curve: EcCurve; point: Uint8Array };
  /** An RSA key as JWK. */
  rsaJwk?: JsonWebKey;
}

export interface DevicePublicKey extends DeviceKeyDescription {
  publicKey: KeyObject;
}

export class KeyPolicyError extends Error {
  override readonly name = 'KeyPolicyError';
}

const OID_EC = oid('1.2.840.10045.2.1').toString('hex');
const OID_RSA = oid('1.2.840.113549.1.1.1').toString('hex');
const CURVES = new Map<string, { name: EcCurve; coordinateBytes: number }>([
  [oid('1.2.840.10045.3.1.7').toString('hex'), { name: 'P-256', coordinateBytes: 32 }],
  [oid('1.3.132.0.34').toString('hex'), { name: 'P-384', coordinateBytes: 48 }],
]);
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;

function positiveMagnitude(buf: Buffer, t: Tlv | undefined, what: string): Buffer {
  expectTag(t, TAG.INTEGER, what);
  const c = content(buf, t as Tlv);
  if (c.length === 0 || c[0] & 0x80) throw new DerError(`${what} must be positive`);
  return c[0] === 0 && c.length > 1 ? c.subarray(1) : c;
}

/** Parses a device's SPKI DER and applies the key policy. Throws DerError (malformed) or KeyPolicyError (refused). */
export function describeDeviceKey(spki: Buffer): DeviceKeyDescription {
  const top = readWhole(spki, TAG.SEQUENCE);
  const [algId, keyBits, extra] = children(spki, top);
  expectTag(algId, TAG.SEQUENCE, 'algorithm');
  expectTag(keyBits, TAG.BIT_STRING, 'subjectPublicKey');
  if (extra) throw new DerError('trailing fields in subjectPublicKeyInfo');
  const [algOid, params, more] = children(spki, algId);
  expectTag(algOid, TAG.OID, 'algorithm');
  if (more) throw new DerError('malformed key algorithm');
  const bits = content(spki, keyBits);
  if (bits.length < 2 || bits[0] !== 0) throw new DerError('malformed public key bit string');
  const key = bits.subarray(1);
  const algHex = spki.toString('hex', algOid.start, algOid.end);

  if (algHex === OID_EC) {
    const curve = params?.tag === TAG.OID ? CURVES.get(spki.toString('hex', params.start, params.end)) : undefined;
    if (!curve) throw new KeyPolicyError('unsupported elliptic curve; use P-256 or P-384');
    const n = curve.coordinateBytes;
    const description = `EC ${curve.name}`;
    const uncompressed = key.length === 1 + 2 * n && key[0] === 4;
    if (uncompressed || (key.length === 1 + n && (key[0] === 2 || key[0] === 3))) {
      return { family: 'ecdsa', description, spki, ec: { curve: curve.name, point: key } };
    }
    throw new KeyPolicyError('the EC public key is not valid');
  }

  if (algHex === OID_RSA) {
    if (params && !(params.tag === TAG.NULL && params.end === params.contentStart))
      throw new DerError('unexpected RSA key parameters');
    const rsaKey = readWhole(key, TAG.SEQUENCE);
    const [nTlv, eTlv, tail] = children(key, rsaKey);
    if (tail) throw new DerError('malformed RSA public key');
    const modulus = positiveMagnitude(key, nTlv, 'RSA modulus');
    const exponent = positiveMagnitude(key, eTlv, 'RSA exponent');
    const modulusBits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0]));
    if (modulusBits < RSA_MIN_BITS || modulusBits > RSA_MAX_BITS) {
      throw new KeyPolicyError(`RSA key of ${modulusBits} bits; ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits required`);
    }
    if (exponent.length > 4 || !(exponent[exponent.length - 1] & 1) || exponent.readUIntBE(0, exponent.length) < 3) {
      throw new KeyPolicyError('unsupported RSA public exponent');
    }
    const rsaJwk = { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') };
    return { family: 'rsa', description: `RSA ${modulusBits}`, spki, rsaJwk };
  }
  throw new KeyPolicyError('unsupported key type; use EC P-256, EC P-384 or RSA');
}

/**
 * Imports a described key (OpenSSL validates it, e.g. that an EC point is on the curve). Throws KeyPolicyError.
 * The signing threads run it too (signing-worker.ts, through verifyCsr).
 */
export function importDescribedKey(d: DeviceKeyDescription): KeyObject {
  try {
    const jwk = d.rsaJwk ?? (d.ec && ecJwk(d.ec.curve, d.ec.point));
    return jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: d.spki, format: 'der', type: 'spki' });
  } catch {
    throw new KeyPolicyError(`the ${d.description} public key is not valid`);
  }
}

/** An uncompressed point as JWK (the cheaper import); undefined for a compressed one (imported from the SPKI). */
function ecJwk(curve: EcCurve, point: Uint8Array): JsonWebKey | undefined {
  if (point[0] !== 4) return undefined;
  const p = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  const n = (p.length - 1) / 2;
  return { kty: 'EC', crv: curve, x: p.toString('base64url', 1, 1 + n), y: p.toString('base64url', 1 + n) };
}

/** describeDeviceKey + importDescribedKey. */
export function importDeviceKey(spki: Buffer): DevicePublicKey {
  const d = describeDeviceKey(spki);
  return { ...d, publicKey: importDescribedKey(d) };
}
