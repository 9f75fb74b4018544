// PKCS#10 certificate signing requests: parse, check the key, verify the self-signature (proof of possession).
// Only the public key is taken from a CSR; its subject, attributes and requested extensions are ignored.
import { type KeyObject, verify } from 'node:crypto';
import { nativeEcVerify } from '../native-addon.ts';
import { PairingError } from '../pairing-errors.ts';
import { children, content, DerError, expectTag, readWhole, TAG, whole } from './der-codec.ts';
import { PemError, pemDecode } from './pem.ts';
import { type DeviceKeyDescription, describeDeviceKey, importDescribedKey, KeyPolicyError } from './public-key-info.ts';
import { type KeyFamily, type VerifyScheme, verifyKeyOptions, verifySchemeOf } from './signature-algorithms.ts';

export interface ParsedCsr {
  /** The validated SubjectPublicKeyInfo DER, as the CSR carried it (what goes into the certificate). */
  spki: Buffer;
  keyFamily: KeyFamily;
  /** e.g. "EC P-256", "RSA 2048": harmless, for messages and logs. */
  keyDescription: string;
}

/** A structurally valid CSR with an acceptable key, whose self-signature has not been checked yet. */
export interface UnverifiedCsr {
  key: DeviceKeyDescription;
  signedData: Buffer;
  signature: Buffer;
  scheme: VerifyScheme;
}

const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;

export function invalidCsr(message: string, cause?: unknown): PairingError {
  return new PairingError('INVALID_CSR', { message: `Invalid CSR: ${message}`, cause });
}

/** Decodes a PEM CSR and validates its structure and key, without checking the signature. Throws INVALID_CSR. */
export function readCsr(csrPem: string): UnverifiedCsr {
  return readCsrWithSubject(csrPem).csr;
}

/** readCsr, with the subject Name's DER (a view into the CSR) for a caller that reads it (Foundries /sign): one parse. */
export function readCsrWithSubject(csrPem: string): { csr: UnverifiedCsr; subjectDer: Buffer } {
  let der: Buffer;
  try {
    der = pemDecode(csrPem, CSR_LABELS);
  } catch (e) {
    if (e instanceof PemError) throw invalidCsr(e.message);
    throw e;
  }
  try {
    const top = readWhole(der, TAG.SEQUENCE);
    const [info, algId, sig, extra] = children(der, top);
    expectTag(info, TAG.SEQUENCE, 'certificationRequestInfo');
    expectTag(algId, TAG.SEQUENCE, 'signatureAlgorithm');
    expectTag(sig, TAG.BIT_STRING, 'signature');
    if (extra) throw new DerError('trailing fields after the signature');

    const [version, subject, spki, attributes, more] = children(der, info);
    expectTag(version, TAG.INTEGER, 'version');
    if (version.end - version.contentStart !== 1 || der[version.contentStart] !== 0) {
      throw new DerError('unsupported version (v1 required)');
    }
    expectTag(subject, TAG.SEQUENCE, 'subject');
    expectTag(spki, TAG.SEQUENCE, 'subjectPublicKeyInfo');
    if (attributes && attributes.tag !== 0xa0) throw new DerError('malformed attributes');
    if (more) throw new DerError('trailing fields in certificationRequestInfo');

    const scheme = verifySchemeOf(der, algId);
    // A copy of the key, so the certificate does not keep the whole CSR buffer alive.
    const key = describeDeviceKey(Buffer.from(whole(der, spki)));
    if (scheme.family !== key.family) throw invalidCsr(`the signature algorithm does not match the ${key.description} key`);
    const sigBits = content(der, sig);
    if (sigBits.length < 2 || sigBits[0] !== 0) throw new DerError('malformed signature bit string');
    return {
      csr: { key, signedData: whole(der, info), signature: sigBits.subarray(1), scheme },
      subjectDer: whole(der, subject),
    };
  } catch (e) {
    if (e instanceof PairingError) throw e;
    if (e instanceof KeyPolicyError) throw invalidCsr(e.message);
    // Anything else a hostile input provokes while decoding (DerError, or a RangeError deeper down) is malformed.
    throw invalidCsr(`malformed structure (${e instanceof DerError ? e.message : 'undecodable'})`, e);
  }
}

export const badCsrSignature = () => invalidCsr('the self-signature does not verify (no proof of possession of the private key)');

/** Checks the CSR's self-signature (proof of possession) with its key. Throws INVALID_CSR. */
export function verifyCsr(csr: UnverifiedCsr): ParsedCsr {
  const { key } = csr;
  const ok = (key.ec && nativeVerify(csr, key.ec)) ?? nodeVerify(csr);
  if (!ok) throw badCsrSignature();
  return { spki: key.spki, keyFamily: key.family, keyDescription: key.description };
}

/** The native addon's answer for an EC key, or undefined when it is not active. */
function nativeVerify(csr: UnverifiedCsr, ec: NonNullable<DeviceKeyDescription['ec']>): boolean | undefined {
  const r = nativeEcVerify(ec.curve, ec.point, csr.scheme.hash, csr.signedData, csr.signature);
  if (r === 'bad-key') throw invalidCsr(`the ${csr.key.description} public key is not valid`);
  return r;
}

function nodeVerify(csr: UnverifiedCsr): boolean {
  let publicKey: KeyObject;
  try {
    publicKey = importDescribedKey(csr.key);
  } catch (e) {
    if (e instanceof KeyPolicyError) throw invalidCsr(e.message);
    throw e;
  }
  try {
    return verify(csr.scheme.hash, csr.signedData, verifyKeyOptions(publicKey, csr.scheme), csr.signature);
  } catch {
    return false; // a signature OpenSSL cannot even decode is just a bad signature
  }
}

/** Parses a PEM CSR and verifies its self-signature. Throws PairingError INVALID_CSR (an ImprintError). */
export function parseCsr(csrPem: string): ParsedCsr {
  return verifyCsr(readCsr(csrPem));
}
