// OCSP (RFC 6960) for the pairing CA: reads an OCSPRequest, and writes a BasicOCSPResponse signed by the CA
// itself (responderID byKey, the CA certificate included so any client finds the signer). Small enough for
// our own DER reader/writer; the tests check the output with `openssl ocsp`.
import { createHash, type KeyObject, sign } from 'node:crypto';
import { serialHexOf } from './certificate-reader.ts';
import type { RevocationReason } from './crl.ts';
import {
  bitString,
  children,
  content,
  ctx,
  DerError,
  expectTag,
  oid,
  readTlv,
  readWhole,
  seq,
  TAG,
  type Tlv,
  tlv,
  whole,
} from './der-codec.ts';
import type { SigningScheme } from './signature-algorithms.ts';

export type OcspHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** One certificate asked about: its CertID as sent (echoed in the answer) and what it names. */
export interface OcspCertId {
  der: Buffer;
  hash: OcspHash;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serialHex: string;
}

export interface OcspRequest {
  certIds: OcspCertId[];
  /** The whole nonce Extension, echoed in the response (RFC 8954). */
  nonceExtension?: Buffer;
}

export type OcspStatus =
  | { status: 'good' }
  | { status: 'revoked'; revokedAt: Date; reason: RevocationReason }
  | { status: 'unknown' };

/** responseStatus values (RFC 6960 §4.2.1). */
export const OCSP_RESPONSE_STATUS = { successful: 0, malformedRequest: 1, internalError: 2, tryLater: 3 } as const;

/** At most this many certificates per request: more is a malformed (or abusive) request. */
export const MAX_OCSP_REQUESTS = 20;
const MAX_NONCE_EXTENSION = 128;

const HASH_OIDS = new Map<string, OcspHash>([
  [oid('1.3.14.3.2.26').toString('hex'), 'sha1'],
  [oid('2.16.840.1.101.3.4.2.1').toString('hex'), 'sha256'],
  [oid('2.16.840.1.101.3.4.2.2').toString('hex'), 'sha384'],
  [oid('2.16.840.1.101.3.4.2.3').toString('hex'), 'sha512'],
]);
const OID_NONCE = oid('1.3.6.1.5.5.7.48.1.2');
const OID_BASIC = oid('1.3.6.1.5.5.7.48.1.1');
const REASON_CODE: Record<RevocationReason, number> = { unspecified: 0, keyCompromise: 1, superseded: 4 };

export class OcspMalformed extends Error {
  override readonly name = 'OcspMalformed';
}

function readCertId(buf: Buffer, t: Tlv): OcspCertId {
  const [alg, nameHash, keyHash, serial, extra] = children(buf, expectTag(t, TAG.SEQUENCE, 'CertID'));
  if (extra) throw new DerError('trailing fields in CertID');
  const [algOid] = children(buf, expectTag(alg, TAG.SEQUENCE, 'hashAlgorithm'));
  expectTag(algOid, TAG.OID, 'hash algorithm');
  const hash = HASH_OIDS.get(buf.toString('hex', algOid.start, algOid.end));
  if (!hash) throw new DerError('unsupported CertID hash algorithm');
  return {
    der: Buffer.from(whole(buf, t)),
    hash,
    issuerNameHash: Buffer.from(content(buf, expectTag(nameHash, TAG.OCTET_STRING, 'issuerNameHash'))),
    issuerKeyHash: Buffer.from(content(buf, expectTag(keyHash, TAG.OCTET_STRING, 'issuerKeyHash'))),
    serialHex: serialHexOf(buf, expectTag(serial, TAG.INTEGER, 'serialNumber')),
  };
}

function findNonce(buf: Buffer, extensionsWrapper: Tlv): Buffer | undefined {
  const list = readTlv(buf, extensionsWrapper.contentStart, extensionsWrapper.end);
  for (const ext of children(buf, expectTag(list, TAG.SEQUENCE, 'requestExtensions'))) {
    const [id] = children(buf, expectTag(ext, TAG.SEQUENCE, 'extension'));
    if (id && whole(buf, id).equals(OID_NONCE) && ext.end - ext.start <= MAX_NONCE_EXTENSION) return Buffer.from(whole(buf, ext));
  }
  return undefined;
}

/** Parses a DER OCSPRequest. Throws OcspMalformed (answered with malformedRequest). */
export function readOcspRequest(der: Buffer): OcspRequest {
  try {
    const top = readWhole(der, TAG.SEQUENCE);
    const [tbs] = children(der, top); // an optional signature is ignored: requests need none here
    const fields = children(der, expectTag(tbs, TAG.SEQUENCE, 'tbsRequest'));
    let i = 0;
    if (fields[i]?.tag === ctx(0)) i++; // version
    if (fields[i]?.tag === ctx(1)) i++; // requestorName
    const list = expectTag(fields[i++], TAG.SEQUENCE, 'requestList');
    const extensions = fields[i]?.tag === ctx(2) ? fields[i] : undefined;
    const requests = children(der, list);
    if (requests.length === 0 || requests.length > MAX_OCSP_REQUESTS)
      throw new DerError(`requestList must hold 1 to ${MAX_OCSP_REQUESTS} requests`);
    const certIds = requests.map((r) => readCertId(der, children(der, expectTag(r, TAG.SEQUENCE, 'Request'))[0]));
    return { certIds, nonceExtension: extensions ? findNonce(der, extensions) : undefined };
  } catch (e) {
    throw new OcspMalformed(e instanceof Error ? e.message : 'malformed OCSP request');
  }
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** GeneralizedTime "YYYYMMDDHHMMSSZ" (RFC 5280 §4.1.2.5.2: OCSP times are always GeneralizedTime). */
export function generalizedTime(d: Date): Buffer {
  const s = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(s, 'latin1'));
}

/** An OCSPResponse carrying only an error status (no responseBytes). */
export function ocspErrorResponse(status: Exclude<keyof typeof OCSP_RESPONSE_STATUS, 'successful'>): Buffer {
  return seq(Buffer.from([TAG.ENUMERATED, 1, OCSP_RESPONSE_STATUS[status]]));
}

function certStatus(s: OcspStatus): Buffer {
  if (s.status === 'good') return Buffer.from([ctx(0, false), 0]);
  if (s.status === 'unknown') return Buffer.from([ctx(2, false), 0]);
  // revoked [1] IMPLICIT RevokedInfo; the reason is left out when unspecified (as in our CRL).
  const parts = [generalizedTime(s.revokedAt)];
  if (s.reason !== 'unspecified') parts.push(tlv(ctx(0), Buffer.from([TAG.ENUMERATED, 1, REASON_CODE[s.reason]])));
  return tlv(ctx(1), ...parts);
}

export interface OcspSigner {
  key: KeyObject;
  scheme: SigningScheme;
  /** SHA-1 of the CA's public key (the responderID byKey). */
  keyHash: Buffer;
  certificateDer: Buffer;
}

/** A successful, signed OCSPResponse with one SingleResponse per CertID. */
export function buildOcspResponse(
  signer: OcspSigner,
  answers: Array<{ certId: OcspCertId; status: OcspStatus }>,
  times: { producedAt: Date; nextUpdate: Date },
  nonceExtension?: Buffer,
): Buffer {
  const singles = answers.map((a) =>
    seq(a.certId.der, certStatus(a.status), generalizedTime(times.producedAt), tlv(ctx(0), generalizedTime(times.nextUpdate))),
  );
  const data = [tlv(ctx(2), tlv(TAG.OCTET_STRING, signer.keyHash)), generalizedTime(times.producedAt), seq(...singles)];
  if (nonceExtension) data.push(tlv(ctx(1), seq(nonceExtension)));
  const tbs = seq(...data);
  const signature = sign(signer.scheme.hash, tbs, { key: signer.key, dsaEncoding: 'der' });
  const basic = seq(tbs, signer.scheme.algorithmIdentifier, bitString(signature), tlv(ctx(0), seq(signer.certificateDer)));
  return seq(
    Buffer.from([TAG.ENUMERATED, 1, OCSP_RESPONSE_STATUS.successful]),
    tlv(ctx(0), seq(OID_BASIC, tlv(TAG.OCTET_STRING, basic))),
  );
}

/** Whether a CertID names this CA as issuer (by the hashes of its name and key, in the CertID's hash). */
export function certIdNamesIssuer(certId: OcspCertId, issuerNameDer: Buffer, issuerKeyBits: Buffer): boolean {
  const h = (data: Buffer) => createHash(certId.hash).update(data).digest();
  return h(issuerNameDer).equals(certId.issuerNameHash) && h(issuerKeyBits).equals(certId.issuerKeyHash);
}
