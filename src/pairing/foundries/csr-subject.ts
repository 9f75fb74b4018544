// The subject of a CSR as Foundries' lmp-device-register builds it: CN=<uuid>, OU=<factory> and,
// for production devices, businessCategory=production. Read from the DER without trusting it yet:
// the CA checks the CSR's signature (proof of possession) before anything is issued, on the same
// parse (IssueOptions.csr).
import { readCsrWithSubject, type UnverifiedCsr } from '../ca/csr.ts';
import { children, DerError, expectTag, readString, readWhole, TAG } from '../ca/der-codec.ts';
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

const MAX_CSR_PEM = 16 * 1024;

const bad = (why: string, cause?: unknown) => new PairingError('INVALID_CSR', { message: `Invalid CSR: ${why}`, cause });

/**
 * The CSR read once (structure and key validated, signature not yet: the CA checks it) and its
 * subject's attributes. Throws PairingError INVALID_CSR.
 */
export function readCsrSubject(csrPem: string): { subject: CsrSubject; csr: UnverifiedCsr } {
  if (typeof csrPem === 'string' && csrPem.length > MAX_CSR_PEM) throw bad('larger than 16 KiB');
  const { csr, subjectDer } = readCsrWithSubject(csrPem);
  try {
    const out: CsrSubject = { der: Buffer.from(subjectDer), spki: csr.key.spki };
    for (const rdn of children(subjectDer, readWhole(subjectDer, TAG.SEQUENCE))) {
      for (const atv of children(subjectDer, expectTag(rdn, TAG.SET, 'RDN'))) {
        const [type, value] = children(subjectDer, expectTag(atv, TAG.SEQUENCE, 'attribute'));
        expectTag(type, TAG.OID, 'attribute type');
        if (!value) throw new DerError('attribute value is missing');
        const name = OIDS[subjectDer.toString('hex', type.start, type.end)];
        if (!name) continue;
        const text = readString(subjectDer, value);
        if (name === 'CN') out.commonName ??= text;
        else if (name === 'OU') out.organizationalUnit ??= text;
        else out.businessCategory ??= text;
      }
    }
    return { subject: out, csr };
  } catch (e) {
    if (e instanceof PairingError) throw e;
    throw bad(`malformed subject (${e instanceof DerError ? e.message : 'undecodable'})`, e);
  }
}
