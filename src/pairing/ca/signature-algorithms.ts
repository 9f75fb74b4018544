// Signature algorithms: which AlgorithmIdentifier the CA signs with, and how to verify a signature
// described by an AlgorithmIdentifier (CSR proof of possession, certificate and CRL checks).
import { constants, type KeyObject } from 'node:crypto';
import { children, content, DerError, expectTag, oid, readTlv, seq, TAG, type Tlv } from './der-codec.ts';

export type KeyFamily = 'ecdsa' | 'rsa';

export interface VerifyScheme {
  family: KeyFamily;
  hash: 'sha256' | 'sha384' | 'sha512';
  /** Set for RSASSA-PSS. */
  pssSaltLength?: number;
}

const OID = {
  ecdsaSha256: oid('1.2.840.10045.4.3.2'),
  ecdsaSha384: oid('1.2.840.10045.4.3.3'),
  ecdsaSha512: oid('1.2.840.10045.4.3.4'),
  rsaSha256: oid('1.2.840.113549.1.1.11'),
  rsaSha384: oid('1.2.840.113549.1.1.12'),
  rsaSha512: oid('1.2.840.113549.1.1.13'),
  rsaPss: oid('1.2.840.113549.1.1.10'),
  mgf1: oid('1.2.840.113549.1.1.8'),
  sha256: oid('2.16.840.1.101.3.4.2.1'),
  sha384: oid('2.16.840.1.101.3.4.2.2'),
  sha512: oid('2.16.840.1.101.3.4.2.3'),
};

const NULL = Buffer.from([TAG.NULL, 0]);

const SIMPLE = new Map<string, VerifyScheme>([
  [OID.ecdsaSha256.toString('hex'), { family: 'ecdsa', hash: 'sha256' }],
  [OID.ecdsaSha384.toString('hex'), { family: 'ecdsa', hash: 'sha384' }],
  [OID.ecdsaSha512.toString('hex'), { family: 'ecdsa', hash: 'sha512' }],
  [OID.rsaSha256.toString('hex'), { family: 'rsa', hash: 'sha256' }],
  [OID.rsaSha384.toString('hex'), { family: 'rsa', hash: 'sha384' }],
  [OID.rsaSha512.toString('hex'), { family: 'rsa', hash: 'sha512' }],
]);

const HASHES = new Map<string, VerifyScheme['hash']>([
  [OID.sha256.toString('hex'), 'sha256'],
  [OID.sha384.toString('hex'), 'sha384'],
  [OID.sha512.toString('hex'), 'sha512'],
]);

/** How the CA signs: the AlgorithmIdentifier DER to embed and the arguments of crypto.sign. */
export interface SigningScheme {
  algorithmIdentifier: Buffer;
  hash: 'sha256' | 'sha384' | 'sha512';
}

/** EC P-256 → ecdsa-with-SHA256 (RFC 5758: no parameters); P-384 → SHA-384; RSA → sha256WithRSAEncryption. */
export function signingSchemeFor(key: KeyObject): SigningScheme {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { algorithmIdentifier: seq(OID.ecdsaSha256), hash: 'sha256' };
    if (curve === 'secp384r1') return { algorithmIdentifier: seq(OID.ecdsaSha384), hash: 'sha384' };
    if (curve === 'secp521r1') return { algorithmIdentifier: seq(OID.ecdsaSha512), hash: 'sha512' };
    throw new Error(`unsupported CA curve ${curve ?? 'unknown'}`);
  }
  if (key.asymmetricKeyType === 'rsa') return { algorithmIdentifier: seq(OID.rsaSha256, NULL), hash: 'sha256' };
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Reads the hash AlgorithmIdentifier inside a PSS parameter ([0] or [1]'s MGF1 parameter). */
function hashOf(buf: Buffer, algId: Tlv | undefined): VerifyScheme['hash'] {
  const [o, params, extra] = children(buf, expectTag(algId, TAG.SEQUENCE, 'hash algorithm'));
  if (extra) throw new DerError('malformed hash algorithm');
  if (!o || o.tag !== TAG.OID) throw new DerError('malformed hash algorithm');
  if (params && !(params.tag === TAG.NULL && params.end === params.contentStart))
    throw new DerError('unexpected hash parameters');
  const h = HASHES.get(buf.toString('hex', o.start, o.end));
  if (!h) throw new DerError('unsupported hash algorithm (SHA-256, SHA-384 or SHA-512 required)');
  return h;
}

function smallInt(buf: Buffer, t: Tlv): number {
  const len = t.end - t.contentStart;
  if (t.tag !== TAG.INTEGER || len < 1 || len > 2 || buf[t.contentStart] & 0x80) throw new DerError('malformed integer');
  return content(buf, t).readUIntBE(0, len);
}

function pssScheme(buf: Buffer, params: Tlv | undefined): VerifyScheme {
  // RSASSA-PSS-params; the defaults (SHA-1) are refused, so the hash must be explicit.
  if (!params || params.tag !== TAG.SEQUENCE) throw new DerError('RSASSA-PSS needs explicit parameters');
  let hash: VerifyScheme['hash'] | undefined;
  let mgfHash: VerifyScheme['hash'] | undefined;
  let saltLength = 20;
  for (const field of children(buf, params)) {
    const inner = readTlv(buf, field.contentStart, field.end);
    if (inner.end !== field.end) throw new DerError('malformed PSS parameter');
    if (field.tag === 0xa0) hash = hashOf(buf, inner);
    else if (field.tag === 0xa1) {
      const [mgfOid, mgfParams, extra] = children(buf, expectTag(inner, TAG.SEQUENCE, 'mask generation'));
      if (extra) throw new DerError('malformed mask generation');
      if (!mgfOid || !buf.subarray(mgfOid.start, mgfOid.end).equals(OID.mgf1)) throw new DerError('unsupported mask generation');
      mgfHash = hashOf(buf, mgfParams);
    } else if (field.tag === 0xa2) saltLength = smallInt(buf, inner);
    else if (field.tag === 0xa3) {
      if (smallInt(buf, inner) !== 1) throw new DerError('unsupported PSS trailer field');
    } else throw new DerError('unexpected PSS parameter');
  }
  if (!hash || hash !== mgfHash) throw new DerError('RSASSA-PSS must use SHA-2 with MGF1 over the same hash');
  return { family: 'rsa', hash, pssSaltLength: saltLength };
}

/** The verification scheme named by an AlgorithmIdentifier TLV. Throws DerError when unsupported. */
export function verifySchemeOf(buf: Buffer, algId: Tlv): VerifyScheme {
  const [o, params, extra] = children(buf, algId);
  if (!o || o.tag !== TAG.OID || extra) throw new DerError('malformed signature algorithm');
  const key = buf.toString('hex', o.start, o.end);
  const simple = SIMPLE.get(key);
  if (simple) {
    // Absent or NULL parameters are both seen in the wild; anything else is not a known encoding.
    if (params && !(params.tag === TAG.NULL && params.end === params.contentStart))
      throw new DerError('unexpected algorithm parameters');
    return simple;
  }
  if (key === OID.rsaPss.toString('hex')) return pssScheme(buf, params);
  throw new DerError('unsupported signature algorithm');
}

/** The padding/encoding options of crypto.verify for a scheme (without the key: also sent to signing threads). */
export function verifyPaddingOptions(scheme: VerifyScheme): { dsaEncoding?: 'der'; padding?: number; saltLength?: number } {
  if (scheme.family === 'ecdsa') return { dsaEncoding: 'der' };
  if (scheme.pssSaltLength !== undefined) return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pssSaltLength };
  return { padding: constants.RSA_PKCS1_PADDING };
}

/** Arguments for crypto.verify's key parameter. */
export function verifyKeyOptions(key: KeyObject, scheme: VerifyScheme) {
  return { key, ...verifyPaddingOptions(scheme) };
}
