// Reads just what the CA needs from an X.509 certificate (to check one it issued): the signed bytes, the
// signature and its algorithm, serial, issuer, validity and subject CN. Throws DerError on anything malformed.
import {
  children,
  content,
  ctx,
  DerError,
  expectTag,
  oid,
  readString,
  readTime,
  readTlv,
  readWhole,
  TAG,
  type Tlv,
  whole,
} from './der-codec.ts';
import { type VerifyScheme, verifySchemeOf } from './signature-algorithms.ts';

export interface CertificateFields {
  der: Buffer;
  tbs: Buffer;
  scheme: VerifyScheme;
  signature: Buffer;
  serialHex: string;
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  /** The subjectKeyIdentifier extension's key id, when present. */
  subjectKeyId?: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The first CN of the subject, '' when there is none. */
  commonName: string;
}

const OID_CN_HEX = oid('2.5.4.3').toString('hex');
const OID_SKI_HEX = oid('2.5.29.14').toString('hex');

/** Canonical serial: lowercase hex of the INTEGER's content without a leading 0x00 sign octet. */
export function serialHexOf(buf: Buffer, t: Tlv): string {
  const c = content(buf, t);
  if (c.length === 0) throw new DerError('empty serial');
  return (c.length > 1 && c[0] === 0 ? c.subarray(1) : c).toString('hex');
}

function firstCommonName(buf: Buffer, name: Tlv): string {
  for (const rdn of children(buf, name)) {
    expectTag(rdn, TAG.SET, 'RDN');
    for (const atv of children(buf, rdn)) {
      const [type, value] = children(buf, expectTag(atv, TAG.SEQUENCE, 'attribute'));
      expectTag(type, TAG.OID, 'attribute type');
      if (!value) throw new DerError('attribute value is missing');
      if (buf.toString('hex', type.start, type.end) === OID_CN_HEX) return readString(buf, value);
    }
  }
  return '';
}

function subjectKeyIdOf(buf: Buffer, extensions: Tlv | undefined): Buffer | undefined {
  if (!extensions) return undefined;
  const list = readTlv(buf, extensions.contentStart, extensions.end);
  for (const ext of children(buf, expectTag(list, TAG.SEQUENCE, 'extensions'))) {
    const parts = children(buf, expectTag(ext, TAG.SEQUENCE, 'extension'));
    if (buf.toString('hex', parts[0].start, parts[0].end) !== OID_SKI_HEX) continue;
    const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue');
    const keyId = readTlv(buf, value.contentStart, value.end);
    return Buffer.from(content(buf, expectTag(keyId, TAG.OCTET_STRING, 'keyIdentifier')));
  }
  return undefined;
}

export function readCertificate(der: Buffer): CertificateFields {
  const top = readWhole(der, TAG.SEQUENCE);
  const [tbs, algId, sig, extra] = children(der, top);
  expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate');
  expectTag(algId, TAG.SEQUENCE, 'signatureAlgorithm');
  expectTag(sig, TAG.BIT_STRING, 'signatureValue');
  if (extra) throw new DerError('trailing fields after the signature');
  const sigBits = content(der, sig);
  if (sigBits.length < 2 || sigBits[0] !== 0) throw new DerError('malformed signature bit string');

  const fields = children(der, tbs);
  let i = 0;
  if (fields[0]?.tag === ctx(0)) i++; // explicit version
  const serial = expectTag(fields[i++], TAG.INTEGER, 'serialNumber');
  const innerAlg = expectTag(fields[i++], TAG.SEQUENCE, 'signature');
  const issuer = expectTag(fields[i++], TAG.SEQUENCE, 'issuer');
  const validity = expectTag(fields[i++], TAG.SEQUENCE, 'validity');
  const subject = expectTag(fields[i++], TAG.SEQUENCE, 'subject');
  const spki = expectTag(fields[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const extensions = fields.slice(i).find((f) => f.tag === ctx(3));
  // RFC 5280 §4.1.1.2: the inner and outer signature algorithms must be identical.
  if (!whole(der, innerAlg).equals(whole(der, algId))) throw new DerError('signature algorithm mismatch');
  const [nb, na, more] = children(der, validity);
  if (!nb || !na || more) throw new DerError('malformed validity');

  return {
    der,
    tbs: whole(der, tbs),
    scheme: verifySchemeOf(der, algId),
    signature: sigBits.subarray(1),
    serialHex: serialHexOf(der, serial),
    issuer: whole(der, issuer),
    subject: whole(der, subject),
    spki: whole(der, spki),
    subjectKeyId: subjectKeyIdOf(der, extensions),
    notBefore: readTime(der, nb),
    notAfter: readTime(der, na),
    commonName: firstCommonName(der, subject),
  };
}

const NORMALIZED_STRINGS = new Set<number>([TAG.UTF8_STRING, TAG.PRINTABLE_STRING]);

function atvs(buf: Buffer, name: Tlv): Array<{ type: string; tag: number; value: Buffer }> | undefined {
  const out: Array<{ type: string; tag: number; value: Buffer }> = [];
  for (const rdn of children(buf, name)) {
    const inner = children(buf, expectTag(rdn, TAG.SET, 'RDN'));
    if (inner.length !== 1) return undefined; // multi-valued RDNs: only an exact match will do
    const [type, value] = children(buf, expectTag(inner[0], TAG.SEQUENCE, 'attribute'));
    if (!type || !value) throw new DerError('malformed attribute');
    out.push({ type: buf.toString('hex', type.start, type.end), tag: value.tag, value: content(buf, value) });
  }
  return out;
}

const fold = (v: Buffer) => v.toString('utf8').trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * Whether two DER Names are the same issuer as Erlang's public_key compares them in Astarte's path validation
 * (pubkey_cert:is_issuer): exact, or equal once PrintableString/UTF8String values are compared without case
 * and with spaces collapsed.
 */
export function sameName(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  try {
    const x = atvs(a, readWhole(a, TAG.SEQUENCE));
    const y = atvs(b, readWhole(b, TAG.SEQUENCE));
    if (!x || !y || x.length !== y.length) return false;
    return x.every((v, i) => {
      const w = y[i];
      if (v.type !== w.type) return false;
      if (v.tag === w.tag && v.value.equals(w.value)) return true;
      return NORMALIZED_STRINGS.has(v.tag) && NORMALIZED_STRINGS.has(w.tag) && fold(v.value) === fold(w.value);
    });
  } catch {
    return false;
  }
}
