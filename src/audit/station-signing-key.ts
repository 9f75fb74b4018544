// The station's Ed25519 signing key for batch summaries: a PKCS#8 PEM file with mode 0600 next
// to the audit database. Only the public key (SPKI, base64) ever leaves this module.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommonError } from '../common/common-errors.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { AuditError } from './audit-errors.ts';

export const SIGNING_KEY_FILE = 'audit-signing-key.pem';

export interface SigningKey {
  /** Base64 of the DER SubjectPublicKeyInfo ("MCowBQYDK2VwAyEA…"). */
  publicKey: string;
  /** "ed25519:" + first 16 hex of SHA-256 over the SPKI DER. */
  keyId: string;
  sign(message: string): string;
}

export function keyIdOf(publicKeyB64: string): string {
  return `ed25519:${createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex').slice(0, 16)}`;
}

/** The key id of a public key file: PEM (`-----BEGIN PUBLIC KEY-----`) or one line of base64 SPKI. */
export function keyIdOfPublicKeyFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new CommonError('FILE_UNREADABLE', `the public key ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    const key = text.startsWith('-----')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return keyIdOf(key.export({ type: 'spki', format: 'der' }).toString('base64'));
  } catch (e) {
    throw new CommonError('INVALID_ARGUMENT', `--public-key ${file}: not an Ed25519 public key: ${(e as Error).message}`);
  }
}

/** Loads the station key from keyDir, creating it (mode 0600) on first use. */
export function loadOrCreateSigningKey(keyDir: string): SigningKey {
  const file = join(keyDir, SIGNING_KEY_FILE);
  let privateKey: KeyObject;
  let pem: string | undefined;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(file, e);
  }
  if (pem === undefined) {
    ensurePrivateDir(keyDir);
    privateKey = generateKeyPairSync('ed25519').privateKey;
    try {
      // 'wx': never overwrite a key another process created a moment ago.
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(file, e);
      return loadOrCreateSigningKey(keyDir);
    }
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch (e) {
      throw keyError(file, e);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw keyError(file, new Error('not an Ed25519 key'));
    // A key readable by others is tightened rather than refused: the station must keep working.
    // (Not possible on read-only media or for another user's file: reading it is still fine.)
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch {}
  }
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    publicKey,
    keyId: keyIdOf(publicKey),
    sign: (message) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64'),
  };
}

/** The existing key in keyDir, or undefined when there is none (never creates one). */
export function tryLoadSigningKey(keyDir: string): SigningKey | undefined {
  if (!existsSync(join(keyDir, SIGNING_KEY_FILE))) return undefined;
  return loadOrCreateSigningKey(keyDir);
}

/** Verifies a base64 Ed25519 signature with a base64 SPKI public key; false on any malformed input. */
export function verifySignature(publicKeyB64: string, message: string, signatureB64: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(message, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

function keyError(file: string, cause: unknown): AuditError {
  // The message names the file, never its content.
  return new AuditError('AUDIT_SIGNING_KEY', file, { cause });
}
