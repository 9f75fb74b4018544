// Fleet claim tokens: ES256 JWTs signed with the pairing core's own claim-signing key
// (<data>/claim-signing-key.pem, 0600). Asymmetric, so the verifying core holds no secret a device
// could leak; signed but not encrypted, so firmware reads the registration URL without any key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { PairingError } from '../pairing-errors.ts';
import { PairingSetupError } from '../setup-errors.ts';

export const CLAIM_KEY_FILE = 'claim-signing-key.pem';
/** JOSE `typ` of claim tokens: an agent JWT or any other token of the realm is never a claim token. */
export const CLAIM_TOKEN_TYPE = 'imprint-claim+jwt';
export const CLAIM_TOKEN_ISSUER = 'imprint-pairing-core';

/** The token's payload: public (anyone holding the token can read it), never a secret. */
export interface ClaimTokenPayload {
  jti: string;
  realm: string;
  /** Where the device POSTs its claim: `<pairing_url>/v1/<realm>/claims`. */
  url: string;
  /** The pairing API base URL (Astarte SDKs' `pairing_url`). */
  pairing_url: string;
  iat: number;
  exp: number;
  max_uses?: number;
  serial_pattern?: string;
  batch?: string;
}

/** Verified tokens by their text: a fleet presents one token many times (the signature cannot change). */
const VERIFIED_CACHE_SIZE = 256;

const expired = () => new PairingError('CLAIM_TOKEN_EXPIRED');

const invalid = (why: string) => new PairingError('CLAIM_TOKEN_INVALID', { message: `Invalid claim token: ${why}` });

/** The payload of a token without verifying it: what firmware does to find its registration URL. */
export function readClaimTokenPayload(token: string): Partial<ClaimTokenPayload> {
  const part = typeof token === 'string' ? token.split('.')[1] : undefined;
  if (!part) throw invalid('not a JWT');
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalid('unreadable payload');
  }
}

function checkPayload(p: Record<string, unknown>): ClaimTokenPayload {
  const str = (k: string) => typeof p[k] === 'string' && (p[k] as string).length > 0;
  if (!str('jti') || !str('realm') || !str('url') || !str('pairing_url')) throw invalid('missing claims');
  if (!Number.isInteger(p.exp) || !Number.isInteger(p.iat)) throw invalid('missing claims');
  if (p.max_uses !== undefined && !(Number.isSafeInteger(p.max_uses) && (p.max_uses as number) >= 1))
    throw invalid('bad max_uses');
  if (p.serial_pattern !== undefined && typeof p.serial_pattern !== 'string') throw invalid('bad serial_pattern');
  if (p.batch !== undefined && typeof p.batch !== 'string') throw invalid('bad batch');
  return p as unknown as ClaimTokenPayload;
}

export class ClaimSigningKey {
  readonly keyId: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #verified = new Map<string, ClaimTokenPayload>();

  private constructor(privateKey: KeyObject, keyId: string) {
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.keyId = keyId;
  }

  /** Loads `<dataDir>/claim-signing-key.pem`, creating an EC P-256 key (0600) the first time. */
  static async loadOrCreate(dataDir: string): Promise<ClaimSigningKey> {
    const file = join(dataDir, CLAIM_KEY_FILE);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(file, e);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      try {
        // `wx`: a second process creating it at the same moment keeps the first key.
        writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
        chmodSync(file, 0o600);
      } catch (w) {
        if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw unreadable(file, w);
        pem = readFileSync(file, 'utf8');
      }
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new PairingSetupError('CLAIM_KEY_INVALID', `${file} is not a PEM private key`, { cause: e });
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new PairingSetupError('CLAIM_KEY_INVALID', `${file} must hold an EC P-256 key (ES256)`);
    const keyId = await calculateJwkThumbprint(await exportJWK(createPublicKey(key)));
    return new ClaimSigningKey(key, keyId);
  }

  mint(p: Omit<ClaimTokenPayload, 'iat'> & { iat?: number }): Promise<string> {
    const { jti, exp, iat, ...rest } = p;
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'ES256', typ: CLAIM_TOKEN_TYPE, kid: this.keyId })
      .setIssuer(CLAIM_TOKEN_ISSUER)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#privateKey);
  }

  /**
   * Signature (ES256 only: HS256, none and other keys are refused), type, issuer and expiry. A token verified
   * before is not verified again (its expiry is); revocation and uses are the store's, checked on every claim.
   */
  async verify(token: string, now: Date): Promise<ClaimTokenPayload> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw invalid('not a JWT');
    const known = this.#verified.get(token);
    if (known) {
      if (Math.floor(now.getTime() / 1000) >= known.exp) throw expired();
      return known;
    }
    const payload = await this.#verifySignature(token, now);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.clear();
    this.#verified.set(token, payload);
    return payload;
  }

  async #verifySignature(token: string, now: Date): Promise<ClaimTokenPayload> {
    try {
      const { payload } = await jwtVerify(token, this.#publicKey, {
        algorithms: ['ES256'],
        typ: CLAIM_TOKEN_TYPE,
        issuer: CLAIM_TOKEN_ISSUER,
        currentDate: now,
        requiredClaims: ['exp', 'jti'],
      });
      return checkPayload(payload);
    } catch (e) {
      if (e instanceof PairingError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw expired();
      if (e instanceof joseErrors.JOSEAlgNotAllowed) throw invalid('only ES256 tokens signed by this pairing core are accepted');
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid('the signature does not verify');
      throw invalid('malformed or not a claim token');
    }
  }
}

function unreadable(file: string, e: unknown): PairingSetupError {
  return new PairingSetupError('CLAIM_KEY_UNREADABLE', `Cannot read or create the claim-signing key ${file}`, { cause: e });
}
