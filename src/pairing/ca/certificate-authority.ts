// The pairing core's certificate authority: issues device client certificates from CSRs (subject forced to
// CN=<realm>/<device id>), checks certificates it issued, and signs CRLs. Profile: docs/certificates.md.
// Everything constant (CA key object, issuer name DER, key id, extension encodings) is prepared once at load,
// so a request costs one CSR signature check and one ECDSA signature.
import { verify } from 'node:crypto';
import { PairingSetupError } from '../setup-errors.ts';
import { CaError } from './ca-errors.ts';
import { type CaMaterial, loadCaFromPem, loadOrCreateCa } from './ca-key-store.ts';
import { readCertificate, sameName } from './certificate-reader.ts';
import { buildCrl, type RevocationReason } from './crl.ts';
import { invalidCsr, readCsr, type UnverifiedCsr, verifyCsr } from './csr.ts';
import {
  buildOcspResponse,
  certIdNamesIssuer,
  type OcspCertId,
  OcspMalformed,
  type OcspRequest,
  type OcspStatus,
  ocspErrorResponse,
  readOcspRequest,
} from './ocsp.ts';
import { pemDecode, pemEncode } from './pem.ts';
import { type SigningScheme, signingSchemeFor, verifyKeyOptions } from './signature-algorithms.ts';
import { SigningThreads } from './signing-threads.ts';
import { keyIdentifier, LeafCertificateBuilder, type LeafFields, serialInteger, subjectPublicKeyBits } from './x509-builder.ts';

export const DEFAULT_CA_COMMON_NAME = 'Imprint Pairing CA';
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
export const DEFAULT_LEAF_VALIDITY_DAYS = 90;
/** notBefore is backdated by this much so devices with a slightly slow clock accept a fresh certificate. */
export const CLOCK_SKEW_MS = 3600_000;
export const DEFAULT_CRL_VALIDITY_MS = 86400_000;
/** OCSP answers are live from the store: caches may keep one for an hour. */
export const DEFAULT_OCSP_VALIDITY_MS = 3600_000;
const MAX_VALIDITY_DAYS = 36500;
const MAX_CN_LENGTH = 256;
const REASONS = new Set<RevocationReason>(['superseded', 'unspecified', 'keyCompromise']);

/**
 * Why check() refused a certificate, with Astarte's names (its CertVerifier maps Erlang's path validation
 * reasons): cert_expired (before notBefore too) → EXPIRED, invalid_issuer → INVALID_ISSUER,
 * invalid_signature → INVALID_SIGNATURE, anything else (unparsable, not exactly one certificate) → INVALID.
 */
export type CheckCause = 'INVALID' | 'EXPIRED' | 'INVALID_ISSUER' | 'INVALID_SIGNATURE';

export type CheckResult = { ok: true; serialHex: string; commonName: string; notAfter: Date } | { ok: false; cause: CheckCause };

export interface IssuedCertificate {
  pem: string;
  /** Canonical serial (lowercase hex, no leading zero octets): the form check() answers and crl() accepts. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  csrPem: string;
  commonName: string;
  serialHex: string;
  validityDays?: number;
  now?: Date;
  /** OCSP responder URL written into the certificate's authorityInfoAccess (http or https). */
  ocspUrl?: string;
  /** `csrPem` already read (readCsr): not parsed again. Its signature is checked here all the same. */
  csr?: UnverifiedCsr;
}

export interface RevokedEntry {
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
  /**
   * The revoked certificate's notAfter, when known: an entry is left out once the certificate expired before
   * the previous CRL period (RFC 5280 §3.3), so the list does not grow forever.
   */
  notAfter?: Date;
}

function badArgument(message: string): PairingSetupError {
  return new PairingSetupError('INVALID_ARGUMENT', message);
}

function validityDays(v: number | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0 || v > MAX_VALIDITY_DAYS)
    throw badArgument(`${what} must be a positive number of days up to ${MAX_VALIDITY_DAYS}`);
  return v;
}

const floorToSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class CertificateAuthority {
  readonly certificatePem: string;
  /** The CA certificate's DER (for serving as application/pkix-cert). */
  readonly certificateDer: Buffer;
  /** When the CA certificate itself expires; leaf certificates never outlive it. */
  readonly notAfter: Date;
  /** True when this call created a new CA (key and certificate) rather than loading one. */
  readonly created: boolean;

  private readonly material: CaMaterial;
  private readonly scheme: SigningScheme;
  private readonly leafBuilder: LeafCertificateBuilder;
  private readonly leafValidityDays: number;
  private readonly signingThreads: number | undefined;
  /** The last OCSP URL that passed its check (a realm puts the same one in every certificate). */
  #checkedOcspUrl: string | undefined;
  private threads: SigningThreads | undefined;

  private constructor(material: CaMaterial, leafValidityDays: number, signingThreads: number | undefined) {
    this.material = material;
    this.certificatePem = material.certificatePem;
    this.certificateDer = material.certificate.der;
    this.notAfter = material.certificate.notAfter;
    this.created = material.created;
    this.scheme = signingSchemeFor(material.privateKey);
    this.leafBuilder = new LeafCertificateBuilder(material.privateKey, this.scheme, material.certificate.subject, material.keyId);
    this.leafValidityDays = leafValidityDays;
    this.signingThreads = signingThreads;
  }

  /**
   * Loads the CA from `dir`, creating it (EC P-256 key, self-signed certificate valid `validityDays`) when absent.
   * `leafValidityDays` is the default validity of issued device certificates; `signingThreads` the number of
   * worker threads issueAsync may use (0: none, every job on the event loop).
   */
  static loadOrCreate(
    dir: string,
    opts: { commonName?: string; validityDays?: number; leafValidityDays?: number; signingThreads?: number } = {},
  ): CertificateAuthority {
    const commonName = opts.commonName ?? DEFAULT_CA_COMMON_NAME;
    if (typeof commonName !== 'string' || commonName.length === 0 || commonName.length > 64) {
      throw badArgument('The CA common name must be 1 to 64 characters');
    }
    const threads = opts.signingThreads;
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 0 || threads > 64)) {
      throw badArgument('signingThreads must be an integer from 0 (none: sign on the event loop) to 64');
    }
    const material = loadOrCreateCa(dir, {
      commonName,
      validityDays: validityDays(opts.validityDays, DEFAULT_CA_VALIDITY_DAYS, 'The CA validity'),
      now: new Date(),
    });
    return new CertificateAuthority(
      material,
      validityDays(opts.leafValidityDays, DEFAULT_LEAF_VALIDITY_DAYS, 'The leaf validity'),
      opts.signingThreads,
    );
  }

  /** The CA from PEM text (a fleet's shared CA handed to each instance); `where` names the sources in errors. */
  static fromPem(
    keyPem: string,
    certPem: string,
    where: { key: string; cert: string },
    opts: { leafValidityDays?: number; signingThreads?: number } = {},
  ): CertificateAuthority {
    return new CertificateAuthority(
      loadCaFromPem(keyPem, certPem, where),
      validityDays(opts.leafValidityDays, DEFAULT_LEAF_VALIDITY_DAYS, 'The leaf validity'),
      opts.signingThreads,
    );
  }

  /**
   * Issues a client certificate for the CSR's key, after checking the CSR's self-signature (proof of possession).
   * The subject is exactly CN=`commonName`; nothing else from the CSR is used. Throws PairingError INVALID_CSR.
   */
  issue(opts: IssueOptions): IssuedCertificate {
    const { csr, fields } = this.prepare(opts);
    const parsed = verifyCsr(csr);
    return this.result(this.leafBuilder.build(leafFields(fields, parsed.spki, parsed.keyFamily)), fields);
  }

  /**
   * issue() with the costly steps (importing the device key, checking the CSR's signature, signing) on worker
   * threads, so the event loop keeps only parsing and encoding. Same results and errors as issue(). The threads
   * start on first use (`signingThreads` of loadOrCreate, default: the cores less one, 1 to 4) and hold the process
   * open only while a job is out; close() stops them.
   */
  async issueAsync(opts: IssueOptions): Promise<IssuedCertificate> {
    return this.issueOnThreads(opts, undefined);
  }

  /**
   * issueAsync() keeping a subject chosen by the caller (`subjectDer`, a whole Name, e.g. the CSR's own
   * CN=uuid, OU=factory, businessCategory=production for Foundries devices) instead of CN=`commonName`.
   * `commonName` must be the subject's CN (it is checked like issue()'s). Same proof-of-possession check.
   * The subject is the device's choice: one the CA cannot certify is the CSR's refusal (PairingError INVALID_CSR).
   */
  async issueWithSubjectAsync(opts: IssueOptions & { subjectDer: Buffer }): Promise<IssuedCertificate> {
    if (!Buffer.isBuffer(opts.subjectDer) || opts.subjectDer.length < 2 || opts.subjectDer[0] !== 0x30)
      throw badArgument('The certificate subject must be a DER Name (SEQUENCE)');
    if (opts.subjectDer.equals(this.material.certificate.subject)) throw invalidCsr("the subject is the CA's own");
    return this.issueOnThreads(opts, opts.subjectDer);
  }

  private async issueOnThreads(opts: IssueOptions, subjectDer: Buffer | undefined): Promise<IssuedCertificate> {
    const { csr, fields } = this.prepare(opts, subjectDer ? (m) => invalidCsr(`the subject's ${m}`) : undefined);
    const tbs = this.leafBuilder.tbs(leafFields(fields, csr.key.spki, csr.key.family, subjectDer));
    this.threads ??= new SigningThreads(this.material.privateKey, this.scheme.hash, this.signingThreads);
    const signature = await this.threads.run({ csr, tbs });
    return this.result(this.leafBuilder.assemble(tbs, signature), fields);
  }

  /** issueAsync's jobs signed on the event loop (alone in their turn) and on the signing threads. */
  signingStats(): { inline: number; threaded: number } {
    return this.threads?.stats() ?? { inline: 0, threaded: 0 };
  }

  /** Stops the signing threads of issueAsync (if any were started). The CA is unusable for issueAsync after. */
  async close(): Promise<void> {
    await this.threads?.close();
  }

  /** `refuseCn`: how a bad common name is refused when it came from the device (default: the caller's mistake). */
  private prepare(
    opts: IssueOptions,
    refuseCn: (message: string) => Error = (m) => badArgument(`The certificate ${m}`),
  ): {
    csr: UnverifiedCsr;
    fields: Omit<LeafFields, 'spki' | 'keyFamily'> & { serialHex: string };
  } {
    const { commonName } = opts;
    if (
      typeof commonName !== 'string' ||
      commonName.length === 0 ||
      commonName.length > MAX_CN_LENGTH ||
      /[\u0000-\u001f\u007f]/.test(commonName)
    ) {
      throw refuseCn(`common name must be 1 to ${MAX_CN_LENGTH} printable characters`);
    }
    if (commonName === this.material.certificate.commonName) throw refuseCn("common name must differ from the CA's");
    const serial = serialInteger(opts.serialHex);
    if (!serial) throw badArgument('The certificate serial must be a positive hex integer of at most 20 octets');
    const days = validityDays(opts.validityDays, this.leafValidityDays, 'The certificate validity');
    const ocspUrl = opts.ocspUrl;
    if (ocspUrl !== undefined && ocspUrl !== this.#checkedOcspUrl) {
      if (!(/^https?:\/\/[\x21-\x7e]{1,500}$/.test(ocspUrl) && URL.canParse(ocspUrl)))
        throw badArgument('The OCSP URL must be an absolute http(s) URL of printable ASCII characters');
      // A realm's OCSP URL is the same for every certificate: checked once, not per request.
      this.#checkedOcspUrl = ocspUrl;
    }
    const csr = opts.csr ?? readCsr(opts.csrPem);

    const now = floorToSecond((opts.now ?? new Date()).getTime());
    const notBefore = new Date(now - CLOCK_SKEW_MS);
    const notAfter = new Date(Math.min(now + days * 86400_000, this.notAfter.getTime()));
    if (notAfter <= notBefore) throw new CaError('CA_EXPIRED');
    return { csr, fields: { serial: serial.der, serialHex: serial.canonicalHex, notBefore, notAfter, commonName, ocspUrl } };
  }

  private result(der: Buffer, f: { serialHex: string; notBefore: Date; notAfter: Date }): IssuedCertificate {
    return { pem: pemEncode(der, 'CERTIFICATE'), serialHex: f.serialHex, notBefore: f.notBefore, notAfter: f.notAfter };
  }

  /**
   * Checks that `certPem` is a certificate this CA issued, within its validity, in the order of Erlang's
   * path validation that Astarte runs (time, issuer name, signature), so that each failure gets Astarte's
   * cause. Revocation and the subject are the caller's.
   */
  check(certPem: string, now: Date = new Date()): CheckResult {
    let cert: ReturnType<typeof readCertificate>;
    try {
      // As Astarte: exactly one PEM entry, and it must be a certificate (a chain or a key alongside is INVALID).
      if (typeof certPem !== 'string' || certPem.split('-----BEGIN ').length !== 2) return { ok: false, cause: 'INVALID' };
      cert = readCertificate(pemDecode(certPem, ['CERTIFICATE']));
    } catch {
      return { ok: false, cause: 'INVALID' };
    }
    const t = now.getTime();
    // notAfter is inclusive, to the second; Erlang reports both ends of the validity as cert_expired.
    if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime() + 999) return { ok: false, cause: 'EXPIRED' };
    if (!sameName(cert.issuer, this.material.certificate.subject)) return { ok: false, cause: 'INVALID_ISSUER' };
    let signed = false;
    try {
      signed = verify(cert.scheme.hash, cert.tbs, verifyKeyOptions(this.material.publicKey, cert.scheme), cert.signature);
    } catch {
      signed = false;
    }
    if (!signed) return { ok: false, cause: 'INVALID_SIGNATURE' };
    // The CA is not a client, nor is any earlier self-signed certificate of the same CA (re-created after a loss).
    if (cert.subject.equals(this.material.certificate.subject)) return { ok: false, cause: 'INVALID' };
    return { ok: true, serialHex: cert.serialHex, commonName: cert.commonName, notAfter: cert.notAfter };
  }

  /**
   * The DER OCSPResponse (RFC 6960) to a DER OCSPRequest: for each certificate asked about, `lookup` gives the
   * status of a serial this CA issued (`unknown` when it never did; CertIDs naming another issuer are
   * `unknown` too). Signed by the CA key; thisUpdate = now, nextUpdate = now + `validityMs`. A request that
   * cannot be read gets a malformedRequest response, never an exception.
   */
  async ocspResponse(
    requestDer: Buffer,
    lookup: (serialHex: string) => OcspStatus | Promise<OcspStatus>,
    opts: { now?: Date; validityMs?: number } = {},
  ): Promise<Buffer> {
    let request: OcspRequest;
    try {
      request = readOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof OcspMalformed) return ocspErrorResponse('malformedRequest');
      throw e;
    }
    const producedAt = new Date(floorToSecond((opts.now ?? new Date()).getTime()));
    const nextUpdate = new Date(producedAt.getTime() + (opts.validityMs ?? DEFAULT_OCSP_VALIDITY_MS));
    const caSpki = this.material.certificate.spki;
    const answers: Array<{ certId: OcspCertId; status: OcspStatus }> = [];
    for (const certId of request.certIds) {
      const ours = certIdNamesIssuer(certId, this.material.certificate.subject, subjectPublicKeyBits(caSpki));
      answers.push({ certId, status: ours ? await lookup(certId.serialHex) : { status: 'unknown' } });
    }
    const signer = {
      key: this.material.privateKey,
      scheme: this.scheme,
      keyHash: keyIdentifier(caSpki),
      certificateDer: this.certificateDer,
    };
    return buildOcspResponse(signer, answers, { producedAt, nextUpdate }, request.nonceExtension);
  }

  /**
   * A signed X.509 v2 CRL listing `revoked` (without the entries of long-expired certificates, see RevokedEntry).
   * `nextUpdate` defaults to one day after `thisUpdate`. The caller keeps `crlNumber` increasing with each new CRL.
   */
  crl(revoked: RevokedEntry[], opts: { crlNumber: bigint; thisUpdate?: Date; nextUpdate?: Date }): { pem: string; der: Buffer } {
    if (typeof opts.crlNumber !== 'bigint' || opts.crlNumber < 0n || opts.crlNumber >= 1n << 159n) {
      throw badArgument('The CRL number must be a non-negative bigint of at most 20 octets');
    }
    const thisUpdate = new Date(floorToSecond((opts.thisUpdate ?? new Date()).getTime()));
    const nextUpdate = new Date(
      floorToSecond((opts.nextUpdate ?? new Date(thisUpdate.getTime() + DEFAULT_CRL_VALIDITY_MS)).getTime()),
    );
    if (nextUpdate <= thisUpdate) throw badArgument('The CRL nextUpdate must be after thisUpdate');
    // Entries of certificates that expired before the previous CRL period have been listed once after expiry.
    const dropBefore = thisUpdate.getTime() - (nextUpdate.getTime() - thisUpdate.getTime());
    const live = revoked.filter((r) => !(r.notAfter instanceof Date && r.notAfter.getTime() < dropBefore));
    const entries = live.map((r) => {
      const serial = serialInteger(r.serialHex);
      if (!serial)
        throw badArgument(
          `Revoked serial "${String(r.serialHex).slice(0, 48)}" is not a positive hex integer of at most 20 octets`,
        );
      if (!(r.revokedAt instanceof Date) || Number.isNaN(r.revokedAt.getTime()))
        throw badArgument(`Revoked serial ${serial.canonicalHex} has no valid date`);
      if (!REASONS.has(r.reason)) throw badArgument(`Revoked serial ${serial.canonicalHex} has an unknown reason`);
      return { serial: serial.der, revokedAt: r.revokedAt, reason: r.reason };
    });
    const der = buildCrl({
      key: this.material.privateKey,
      scheme: this.scheme,
      issuer: this.material.certificate.subject,
      caKeyId: this.material.keyId,
      entries,
      crlNumber: opts.crlNumber,
      thisUpdate,
      nextUpdate,
    });
    return { pem: pemEncode(der, 'X509 CRL'), der };
  }
}

/**
 * The leaf's fields as one literal of fixed shape. A spread followed by named members (`{ ...fields, spki }`)
 * took V8's slow define path on every call: 0.8 % of a /sign's CPU in perf (Runtime_DefineNamedOwnIC).
 */
function leafFields(
  f: Omit<LeafFields, 'spki' | 'keyFamily'>,
  spki: Buffer,
  keyFamily: LeafFields['keyFamily'],
  subjectDer?: Buffer,
): LeafFields {
  return {
    serial: f.serial,
    notBefore: f.notBefore,
    notAfter: f.notAfter,
    commonName: f.commonName,
    subjectDer,
    spki,
    keyFamily,
    ocspUrl: f.ocspUrl,
  };
}
