// X.509 v3 structures the CA issues: device (leaf) certificates on the hot path with the small DER writer
// and precomputed constant parts; the self-signed CA certificate, made once, with the @peculiar/asn1-x509 schemas.
import { hash, type KeyObject, randomBytes, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { nativeEcSign } from '../native-addon.ts';
import { bitString, children, ctx, expectTag, oid, readWhole, seq, TAG, time, tlv, uintFromBytes } from './der-codec.ts';
import type { KeyFamily, SigningScheme } from './signature-algorithms.ts';

const OID_CN = oid('2.5.4.3');
const OID_SKI = oid('2.5.29.14');
const TRUE = Buffer.from([TAG.BOOLEAN, 1, 0xff]);
const V3 = tlv(ctx(0), Buffer.from([TAG.INTEGER, 1, 2]));

/** The subjectPublicKey BIT STRING's value (without its unused-bits octet): what key ids and OCSP key hashes hash. */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  const top = readWhole(spki, TAG.SEQUENCE);
  const [, key] = children(spki, top);
  expectTag(key, TAG.BIT_STRING, 'subjectPublicKey');
  return spki.subarray(key.contentStart + 1, key.end);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
export function keyIdentifier(spki: Buffer): Buffer {
  return hash('sha1', subjectPublicKeyBits(spki), 'buffer');
}

const OID_AIA = oid('1.3.6.1.5.5.7.1.1');
const OID_AD_OCSP = oid('1.3.6.1.5.5.7.48.1');

/** authorityInfoAccess with one OCSP responder URL (RFC 5280 §4.2.2.1), non-critical. */
export function ocspAccessExtension(url: string): Buffer {
  return extension(OID_AIA, false, seq(seq(OID_AD_OCSP, tlv(ctx(6, false), Buffer.from(url, 'latin1')))));
}

/** Name ::= CN=<commonName> as a single UTF8String RDN. */
export function commonNameDer(commonName: string): Buffer {
  return seq(tlv(TAG.SET, seq(OID_CN, tlv(TAG.UTF8_STRING, Buffer.from(commonName, 'utf8')))));
}

function extension(oidDer: Buffer, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oidDer, TRUE, tlv(TAG.OCTET_STRING, value)) : seq(oidDer, tlv(TAG.OCTET_STRING, value));
}

export interface LeafFields {
  serial: Buffer; // a complete INTEGER TLV
  notBefore: Date;
  notAfter: Date;
  commonName: string;
  /** A whole subject Name DER to use instead of CN=commonName (Foundries /sign keeps the CSR's subject). */
  subjectDer?: Buffer;
  spki: Buffer;
  keyFamily: KeyFamily;
  /** OCSP responder URL for the authorityInfoAccess extension (omitted when undefined). */
  ocspUrl?: string;
}

/** Builds and signs device certificates; everything that does not depend on the device is encoded once. */
export class LeafCertificateBuilder {
  private readonly sigAlg: Buffer;
  private readonly issuer: Buffer;
  private readonly constExtensions: { ecdsa: Buffer; rsa: Buffer };
  private readonly akiExtension: Buffer;
  // A core has one responder URL per realm: encode each once.
  private readonly aiaExtensions = new Map<string, Buffer>();

  constructor(
    private readonly caKey: KeyObject,
    private readonly scheme: SigningScheme,
    issuerNameDer: Buffer,
    caKeyId: Buffer,
  ) {
    this.sigAlg = scheme.algorithmIdentifier;
    this.issuer = issuerNameDer;
    const basicConstraints = extension(oid('2.5.29.19'), true, seq());
    // keyUsage: digitalSignature (bit 0); RSA keys may also do TLS key transport, so keyEncipherment (bit 2).
    const kuEc = extension(oid('2.5.29.15'), true, bitString(Buffer.from([0x80]), 7));
    const kuRsa = extension(oid('2.5.29.15'), true, bitString(Buffer.from([0xa0]), 5));
    const eku = extension(oid('2.5.29.37'), false, seq(oid('1.3.6.1.5.5.7.3.2'))); // id-kp-clientAuth
    this.constExtensions = {
      ecdsa: Buffer.concat([basicConstraints, kuEc, eku]),
      rsa: Buffer.concat([basicConstraints, kuRsa, eku]),
    };
    this.akiExtension = extension(oid('2.5.29.35'), false, seq(tlv(ctx(0, false), caKeyId)));
  }

  private aiaExtension(url: string): Buffer {
    let ext = this.aiaExtensions.get(url);
    if (!ext) {
      if (this.aiaExtensions.size >= 1000) this.aiaExtensions.clear();
      ext = ocspAccessExtension(url);
      this.aiaExtensions.set(url, ext);
    }
    return ext;
  }

  /** The DER certificate. */
  build(f: LeafFields): Buffer {
    return signStructure(this.tbs(f), this.caKey, this.scheme);
  }

  /** The certificate from a TBSCertificate and its signature made elsewhere (a signing thread). */
  assemble(tbs: Buffer, signature: Buffer): Buffer {
    return seq(tbs, this.scheme.algorithmIdentifier, bitString(signature));
  }

  /** The TBSCertificate: everything the CA signs. */
  tbs(f: LeafFields): Buffer {
    const ski = extension(OID_SKI, false, tlv(TAG.OCTET_STRING, keyIdentifier(f.spki)));
    const aia = f.ocspUrl === undefined ? Buffer.alloc(0) : this.aiaExtension(f.ocspUrl);
    const extensions = tlv(ctx(3), seq(this.constExtensions[f.keyFamily], ski, this.akiExtension, aia));
    return seq(
      V3,
      f.serial,
      this.sigAlg,
      this.issuer,
      seq(time(f.notBefore), time(f.notAfter)),
      f.subjectDer ?? commonNameDer(f.commonName),
      f.spki,
      extensions,
    );
  }
}

/** The CA's signature over a TBS structure (on the event loop, or on a signing thread: signing-worker.ts). */
export function signTbs(tbs: Uint8Array, key: KeyObject, hash: string): Buffer {
  return nativeEcSign(key, hash, tbs) ?? sign(hash, tbs, { key, dsaEncoding: 'der' });
}

/** SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }: the shape of certificates and CRLs. */
export function signStructure(tbs: Buffer, key: KeyObject, scheme: SigningScheme): Buffer {
  return seq(tbs, scheme.algorithmIdentifier, bitString(signTbs(tbs, key, scheme.hash)));
}

const SERIAL_HEX_RE = /^[0-9a-fA-F]{1,42}$/;

/**
 * The INTEGER TLV of a certificate serial given in hex, and its canonical hex (lowercase, no leading zero
 * octets). RFC 5280 §4.1.2.2: positive, at most 20 content octets. Returns undefined when not acceptable.
 */
export function serialInteger(serialHex: string): { der: Buffer; canonicalHex: string } | undefined {
  if (typeof serialHex !== 'string' || !SERIAL_HEX_RE.test(serialHex)) return undefined;
  const bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return undefined; // zero is not a positive serial
  const magnitude = bytes.subarray(i);
  const der = uintFromBytes(magnitude);
  if (der.length - 2 > 20) return undefined;
  return { der, canonicalHex: magnitude.toString('hex') };
}

/** A random positive serial of 16 bytes (top bit cleared so it stays 16 octets). */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b;
}

export interface CaCertificateOptions {
  privateKey: KeyObject;
  publicKey: KeyObject;
  scheme: SigningScheme;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * The self-signed CA certificate: basicConstraints CA:true, pathlen 0 (it only signs devices), critical;
 * keyUsage keyCertSign + cRLSign, critical; SKI and AKI (same key id).
 */
export function buildCaCertificate(o: CaCertificateOptions): Buffer {
  const spki = o.publicKey.export({ format: 'der', type: 'spki' });
  const keyId = keyIdentifier(spki);
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: o.commonName }) }),
    ]),
  ]);
  const ext = (extnID: string, critical: boolean, value: unknown) =>
    new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(randomSerial()).buffer,
    signature: AsnConvert.parse(o.scheme.algorithmIdentifier, AlgorithmIdentifier),
    issuer: name,
    subject: name,
    validity: new Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subjectPublicKeyInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
      ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const der = signStructure(tbsDer, o.privateKey, o.scheme);
  AsnConvert.parse(der, Certificate); // a cheap self-check that the result is a well-formed certificate
  return der;
}
