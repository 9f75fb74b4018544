// X.509 v2 certificate revocation lists (RFC 5280 §5), signed by the CA, built with the small DER writer so a
// long list stays cheap to regenerate.
import type { KeyObject } from 'node:crypto';
import { ctx, oid, seq, TAG, time, tlv, uintFromBigInt } from './der-codec.ts';
import type { SigningScheme } from './signature-algorithms.ts';
import { signStructure } from './x509-builder.ts';

export type RevocationReason = 'superseded' | 'unspecified' | 'keyCompromise';

/** CRLReason ENUMERATED values (RFC 5280 §5.3.1). */
const REASON_CODE: Record<RevocationReason, number> = { unspecified: 0, keyCompromise: 1, superseded: 4 };

const OID_REASON = oid('2.5.29.21');
const OID_CRL_NUMBER = oid('2.5.29.20');
const OID_AKI = oid('2.5.29.35');
const V2 = Buffer.from([TAG.INTEGER, 1, 1]);

export interface CrlEntry {
  serial: Buffer; // INTEGER TLV
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlInput {
  key: KeyObject;
  scheme: SigningScheme;
  issuer: Buffer;
  caKeyId: Buffer;
  entries: CrlEntry[];
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
}

function entry(e: CrlEntry): Buffer {
  // RFC 5280 §5.3.1: the reasonCode SHOULD be absent rather than "unspecified".
  if (e.reason === 'unspecified') return seq(e.serial, time(e.revokedAt));
  const reason = seq(OID_REASON, tlv(TAG.OCTET_STRING, Buffer.from([TAG.ENUMERATED, 1, REASON_CODE[e.reason]])));
  return seq(e.serial, time(e.revokedAt), seq(reason));
}

/** The DER CRL. */
export function buildCrl(c: CrlInput): Buffer {
  const parts = [V2, c.scheme.algorithmIdentifier, c.issuer, time(c.thisUpdate), time(c.nextUpdate)];
  if (c.entries.length > 0) parts.push(seq(...c.entries.map(entry))); // an empty list must be omitted, not empty
  const aki = seq(OID_AKI, tlv(TAG.OCTET_STRING, seq(tlv(ctx(0, false), c.caKeyId))));
  const crlNumber = seq(OID_CRL_NUMBER, tlv(TAG.OCTET_STRING, uintFromBigInt(c.crlNumber)));
  parts.push(tlv(ctx(0), seq(aki, crlNumber)));
  return signStructure(seq(...parts), c.key, c.scheme);
}
