// The subject of a CSR as Foundries' lmp-device-register builds it: CN=<uuid>, OU=<factory> and,
// for production devices, businessCategory=production. Read from the DER without trusting it yet:
// the CA checks the CSR's signature (proof of possession) before anything is issued.
import { children, DerError, expectTag, readString, readWhole, TAG, whole } from '../ca/der-codec.ts';
import { PemError, pemDecode } from '../ca/pem.ts';
import { PairingError } from '../pairing-errors.ts';

const OIDS: Record<string, 'CN' | 'OU' | 'businessCategory'> = {
  '0603550403': 'CN',
  '060355040b': 'OU',
  '060355040f': 'businessCategory',
};

export interface CsrSubject {
  /** The whole subject Name, exactly as the CSR carries it (it goes into the certificate unchanged). */
  der: Buffer;
  commonName?: string;
  organizationalUnit?: string;
  businessCategory?: string;
  /** The SubjectPublicKeyInfo DER (what the certificate will certify), for the record's key hash. */
  spki: Buffer;
}

const bad = (why: string, cause?: unknown) => new PairingError('INVALID_CSR', { message: `Invalid CSR: ${why}`, cause });

export function readCsrSubject(csrPem: string): CsrSubject {
  let der: Buffer;
  try {
    der = pemDecode(csrPem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 16 * 1024);
  } catch (e) {
    throw bad(e instanceof PemError ? e.message : 'not PEM', e);
  }
  try {
    const top = readWhole(der, TAG.SEQUENCE);
    const [info] = children(der, top);
    const [, subject, spki] = children(der, expectTag(info, TAG.SEQUENCE, 'certificationRequestInfo'));
    expectTag(subject, TAG.SEQUENCE, 'subject');
    expectTag(spki, TAG.SEQUENCE, 'subjectPublicKeyInfo');
    const out: CsrSubject = { der: Buffer.from(whole(der, subject)), spki: whole(der, spki) };
    for (const rdn of children(der, subject)) {
      for (const atv of children(der, expectTag(rdn, TAG.SET, 'RDN'))) {
        const [type, value] = children(der, expectTag(atv, TAG.SEQUENCE, 'attribute'));
        expectTag(type, TAG.OID, 'attribute type');
        if (!value) throw new DerError('attribute value is missing');
        const name = OIDS[der.toString('hex', type.start, type.end)];
        if (!name) continue;
        const text = readString(der, value);
        if (name === 'CN') out.commonName ??= text;
        else if (name === 'OU') out.organizationalUnit ??= text;
        else out.businessCategory ??= text;
      }
    }
    return out;
  } catch (e) {
    if (e instanceof PairingError) throw e;
    throw bad(`malformed subject (${e instanceof DerError ? e.message : 'undecodable'})`, e);
  }
}
