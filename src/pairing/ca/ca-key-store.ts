// The CA's key and certificate on disk: `<dir>/ca-key.pem` (PKCS#8 PEM, mode 0600) and `<dir>/ca-cert.pem`.
// Created on first use, loaded afterwards. Files are created exclusively (write a temp file, then link it into
// place) so two processes starting together end up sharing one CA instead of overwriting each other's.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ensurePrivateDir } from '../../common/private-fs.ts';
import { CaError } from './ca-errors.ts';
import { type CertificateFields, readCertificate } from './certificate-reader.ts';
import { pemDecode, pemEncode } from './pem.ts';
import { signingSchemeFor } from './signature-algorithms.ts';
import { buildCaCertificate, keyIdentifier } from './x509-builder.ts';

export const CA_KEY_FILE = 'ca-key.pem';
export const CA_CERT_FILE = 'ca-cert.pem';

export interface CaMaterial {
  privateKey: KeyObject;
  publicKey: KeyObject;
  certificatePem: string;
  certificate: CertificateFields;
  /** The key id leaf AKIs must carry: the CA certificate's SKI, or computed from its key. */
  keyId: Buffer;
  created: boolean;
}

export interface CaStoreOptions {
  commonName: string;
  validityDays: number;
  now: Date;
}

/**
 * Writes `data` to `path` only if it does not exist yet, durably (file and directory synced: a CA key that a
 * published certificate depends on must survive a power cut). Returns false when another writer got there first.
 */
function createExclusive(path: string, data: string, mode: number): boolean {
  try {
    return writeExclusive(path, data, mode);
  } catch (e) {
    throw new CaError('CA_STORE_UNWRITABLE', `Cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
    });
  }
}

function writeExclusive(path: string, data: string, mode: number): boolean {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed the mode
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    rmSync(tmp, { force: true }); // e.g. a full disk: leave no half-written key behind
    throw e;
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return true;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CaError('CA_STORE_UNREADABLE', `Cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
    });
  }
}

function loadKey(path: string): KeyObject {
  return parseKey(readText(path, 'CA key file'), path);
}

function parseKey(pem: string, path: string): KeyObject {
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    signingSchemeFor(key); // refuses key types the CA cannot sign with
    return key;
  } catch (e) {
    // Never include the file's content: it is (or should be) a private key.
    throw new CaError(
      'CA_KEY_INVALID',
      `The CA key file ${path} is not a usable unencrypted PEM private key (EC P-256/P-384 or RSA)`,
      { cause: e },
    );
  }
}

function loadCertificate(path: string, privateKey: KeyObject): { pem: string; fields: CertificateFields } {
  return parseCertificate(readText(path, 'CA certificate file'), path, privateKey);
}

function parseCertificate(pem: string, path: string, privateKey: KeyObject): { pem: string; fields: CertificateFields } {
  let fields: CertificateFields;
  let x509: X509Certificate;
  try {
    fields = readCertificate(pemDecode(pem, ['CERTIFICATE']));
    x509 = new X509Certificate(fields.der);
  } catch (e) {
    throw new CaError('CA_CERT_INVALID', `The CA certificate file ${path} is not a valid PEM X.509 certificate`, { cause: e });
  }
  if (!x509.ca)
    throw new CaError('CA_CERT_INVALID', `The certificate in ${path} is not a CA certificate (basicConstraints CA:true)`);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CaError('CA_MISMATCH', `The CA certificate ${path} does not match the CA key`);
  }
  return { pem: pemEncode(fields.der, 'CERTIFICATE'), fields };
}

export function loadOrCreateCa(dir: string, o: CaStoreOptions): CaMaterial {
  try {
    ensurePrivateDir(dir);
  } catch (e) {
    throw new CaError(
      'CA_STORE_UNREADABLE',
      `Cannot create the CA directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: e,
      },
    );
  }
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  let created = false;

  if (!existsSync(keyPath)) {
    if (existsSync(certPath)) {
      throw new CaError('CA_KEY_MISSING', `The CA certificate ${certPath} exists but its key ${keyPath} is missing`);
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    created = createExclusive(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  }
  const privateKey = loadKey(keyPath);
  const publicKey = createPublicKey(privateKey);

  if (!existsSync(certPath)) {
    const der = buildCaCertificate({
      privateKey,
      publicKey,
      scheme: signingSchemeFor(privateKey),
      commonName: o.commonName,
      notBefore: new Date(Math.floor(o.now.getTime() / 1000) * 1000 - 3600_000),
      notAfter: new Date(Math.floor(o.now.getTime() / 1000) * 1000 + o.validityDays * 86400_000),
    });
    createExclusive(certPath, pemEncode(der, 'CERTIFICATE'), 0o600); // public, yet private on disk like every product file
  }
  const cert = loadCertificate(certPath, privateKey);
  const keyId = cert.fields.subjectKeyId ?? keyIdentifier(cert.fields.spki);
  return { privateKey, publicKey, certificatePem: cert.pem, certificate: cert.fields, keyId, created };
}

/** A CA given as PEM text (e.g. from environment variables; `where` names them in errors). Never creates one. */
export function loadCaFromPem(keyPem: string, certPem: string, where: { key: string; cert: string }): CaMaterial {
  const privateKey = parseKey(keyPem, where.key);
  const cert = parseCertificate(certPem, where.cert, privateKey);
  const keyId = cert.fields.subjectKeyId ?? keyIdentifier(cert.fields.spki);
  return {
    privateKey,
    publicKey: createPublicKey(privateKey),
    certificatePem: cert.pem,
    certificate: cert.fields,
    keyId,
    created: false,
  };
}
