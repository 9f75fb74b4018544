// Fleet claims: plant IT mints scoped claim tokens per realm; a device presents one with its
// manufacturer id and gets registered (device id = UUIDv5 of the id in the realm's namespace).
// Checks and the use count happen in one store transaction with the device row (claim-store.ts), so
// concurrent claims, on any instance, can neither exceed a token's uses nor claim one manufacturer id
// twice, and a claim never takes over a device the realm already knows (registered by a station).
import { randomUUID } from 'node:crypto';
import { deriveDeviceId } from '../../common/device-id.ts';
import { ImprintError } from '../../common/errors.ts';
import { type Logger, silentLogger } from '../../common/logger.ts';
import { secretFingerprint } from '../../common/secret-fingerprint.ts';
import type { CoreAudit, CoreEvent } from '../core-audit.ts';
import { generateCredentialsSecret } from '../credentials-secret.ts';
import type { EmbeddedPairingCore, PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { hashSecret } from '../secret-hash.ts';
import { PairingSetupError } from '../setup-errors.ts';
import type { ClaimOutcome, ClaimStore, ClaimTokenRecord } from './claim-store.ts';
import { ClaimSigningKey, type ClaimTokenPayload, readClaimTokenPayload } from './claim-token.ts';

export const MAX_TOKEN_LIFETIME_S = 366 * 86400;
const MAX_MANUFACTURER_ID = 256;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface CreateClaimTokenOptions {
  /** Base URL devices reach the pairing API at (e.g. https://pairing.plant.example:4003). */
  pairingUrl: string;
  expiresInSeconds: number;
  maxUses?: number;
  serialPattern?: string;
  batch?: string;
}

export interface ClaimResult {
  deviceId: string;
  credentialsSecret: string;
  pairingUrl: string;
  brokerUrl: string;
}

const badArgument = (m: string) => new PairingSetupError('INVALID_ARGUMENT', m);

/** The anchored form of a token's serial pattern (the whole manufacturer id must match). */
export function serialPatternRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

/** Why the store refused a claim, as the error the device gets. */
function claimRefused(
  o: Exclude<ClaimOutcome, { kind: 'claimed' }>,
  manufacturerId: string,
  deviceId: string,
  realm: string,
  limit: number | undefined,
): PairingError {
  switch (o.kind) {
    case 'unknown_token':
      return new PairingError('CLAIM_TOKEN_INVALID', { message: 'Invalid claim token: unknown to this pairing core' });
    case 'revoked':
      return new PairingError('CLAIM_TOKEN_REVOKED');
    case 'used_up':
      return new PairingError('CLAIM_TOKEN_USED_UP', {
        message: `The claim token has no use left (${o.maxUses} of ${o.maxUses} used)`,
      });
    case 'already_claimed':
      return new PairingError('ALREADY_CLAIMED', {
        message: `Manufacturer id ${manufacturerId} was already claimed (device ${o.deviceId}) at ${o.claimedAt}`,
      });
    case 'device_exists':
      return new PairingError('DEVICE_EXISTS', {
        message: `Device ${deviceId} (manufacturer id ${manufacturerId}) is already known to realm "${realm}": a claim never takes over a registered device`,
      });
    case 'limit':
      return new PairingError('REGISTRATION_LIMIT', {
        message: `The realm's device registration limit (${limit}) has been reached`,
      });
  }
}

/** What a claim's audit event says, gathered before its transaction. */
interface ClaimFacts {
  realm: string;
  jti: string;
  maxUses: number | null;
  workOrder: string | null;
  deviceId: string;
  manufacturerId: string;
  /** For the event's fingerprint only (never the secret itself). */
  credentialsSecret: string;
  /** performance.now() when the request began. */
  started: number;
}

/** The audit event of a claim (`use`: which use of the token this was). */
function claimEvent(f: ClaimFacts, use: number): CoreEvent {
  return {
    step: 'claim',
    outcome: 'ok',
    deviceId: f.deviceId,
    hardwareSerial: f.manufacturerId,
    secretFingerprint: secretFingerprint(f.credentialsSecret),
    durationMs: performance.now() - f.started,
    data: { realm: f.realm, jti: f.jti, use, maxUses: f.maxUses, workOrder: f.workOrder },
  };
}

export class ClaimService {
  readonly #ext: PairingCoreExtension;
  readonly #store: ClaimStore;
  readonly #key: ClaimSigningKey;
  readonly #audit: CoreAudit | undefined;
  readonly #log: Logger;
  readonly #patterns = new Map<string, RegExp>();

  /**
   * The service with the claim-signing key of `dataDir` (created the first time); on a shared store the
   * key must be the fleet's (StoreError FLEET_KEY_MISMATCH otherwise).
   */
  static async open(
    core: EmbeddedPairingCore,
    dataDir: string,
    opts: { audit?: CoreAudit; logger?: Logger } = {},
  ): Promise<ClaimService> {
    const key = await ClaimSigningKey.loadOrCreate(dataDir);
    await core.extension().adoptKey('claim-signing-key', key.keyId);
    return new ClaimService(core, key, opts);
  }

  constructor(core: EmbeddedPairingCore, key: ClaimSigningKey, opts: { audit?: CoreAudit; logger?: Logger } = {}) {
    this.#ext = core.extension();
    this.#store = this.#ext.store.claims;
    this.#key = key;
    this.#audit = opts.audit;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'claims' });
  }

  async createToken(realm: string, o: CreateClaimTokenOptions): Promise<{ token: string; record: ClaimTokenRecord }> {
    await this.#ext.realm(realm);
    if (!URL.canParse(o.pairingUrl) || !/^https?:$/.test(new URL(o.pairingUrl).protocol))
      throw badArgument(`The pairing URL must be an absolute http(s) URL, got "${o.pairingUrl}"`);
    if (!Number.isSafeInteger(o.expiresInSeconds) || o.expiresInSeconds < 60 || o.expiresInSeconds > MAX_TOKEN_LIFETIME_S)
      throw badArgument('A claim token must expire between 1 minute and 366 days after it is minted');
    if (o.maxUses !== undefined && !(Number.isSafeInteger(o.maxUses) && o.maxUses >= 1))
      throw badArgument('--max-uses must be a positive integer');
    if (o.serialPattern !== undefined) {
      try {
        serialPatternRegExp(o.serialPattern);
      } catch {
        throw badArgument(`--serial-pattern is not a valid regular expression: ${o.serialPattern}`);
      }
    }
    if (o.batch !== undefined && (o.batch.length === 0 || o.batch.length > 128))
      throw badArgument('--batch must be 1 to 128 characters');
    const base = o.pairingUrl.replace(/\/+$/, '');
    const now = this.#ext.now();
    const iat = Math.floor(now.getTime() / 1000);
    const payload: ClaimTokenPayload = {
      jti: randomUUID(),
      realm,
      url: `${base}/v1/${realm}/claims`,
      pairing_url: base,
      iat,
      exp: iat + o.expiresInSeconds,
      ...(o.maxUses !== undefined && { max_uses: o.maxUses }),
      ...(o.serialPattern !== undefined && { serial_pattern: o.serialPattern }),
      ...(o.batch !== undefined && { batch: o.batch }),
    };
    const token = await this.#key.mint(payload);
    const record = {
      jti: payload.jti,
      realm,
      createdAt: now.toISOString(),
      expiresAt: new Date(payload.exp * 1000).toISOString(),
      maxUses: o.maxUses ?? null,
      serialPattern: o.serialPattern ?? null,
      batch: o.batch ?? null,
    };
    await this.#store.insertToken(record);
    await this.#audit?.record({
      step: 'claim-token-create',
      outcome: 'info',
      message: `claim token ${record.jti} minted for realm ${realm}`,
      data: {
        realm,
        jti: record.jti,
        expiresAt: record.expiresAt,
        maxUses: record.maxUses,
        serialPattern: record.serialPattern,
        workOrder: record.batch,
      },
    });
    return { token, record: { ...record, uses: 0, revokedAt: null } };
  }

  async listTokens(realm: string): Promise<ClaimTokenRecord[]> {
    await this.#ext.realm(realm);
    return this.#store.listTokens(realm);
  }

  async revokeToken(realm: string, jti: string, operator?: string): Promise<ClaimTokenRecord> {
    await this.#ext.realm(realm);
    const outcome = await this.#store.revokeToken(realm, jti, this.#ext.now().toISOString());
    if (outcome.kind === 'not_found')
      throw new PairingSetupError(
        'CLAIM_TOKEN_NOT_FOUND',
        `No claim token ${jti} in realm "${realm}" (see: imprint pairing claim-token list ${realm})`,
      );
    if (outcome.kind === 'already_revoked')
      throw new PairingSetupError(
        'CLAIM_TOKEN_ALREADY_REVOKED',
        `Claim token ${jti} was already revoked at ${outcome.token.revokedAt}`,
      );
    const record = outcome.token;
    await this.#audit?.record({
      step: 'claim-token-revoke',
      outcome: 'info',
      operator,
      message: `claim token ${jti} revoked after ${record.uses} use(s)`,
      data: { realm, jti, uses: record.uses, maxUses: record.maxUses, workOrder: record.batch },
    });
    return record;
  }

  /** A device's claim: token + manufacturer id → a registered device and its credentials secret. */
  async claim(realm: string, token: string, manufacturerId: string): Promise<ClaimResult> {
    const started = performance.now();
    let payload: ClaimTokenPayload | undefined;
    try {
      const cfg = await this.#ext.realm(realm);
      if (typeof manufacturerId !== 'string' || manufacturerId.length > MAX_MANUFACTURER_ID || !PRINTABLE.test(manufacturerId))
        throw new PairingError('VALIDATION', {
          message: 'Invalid manufacturer_id',
          fields: { manufacturer_id: [`must be 1 to ${MAX_MANUFACTURER_ID} printable ASCII characters without spaces`] },
        });
      payload = await this.#key.verify(token, this.#ext.now());
      const p = payload;
      if (p.realm !== realm)
        throw new PairingError('CLAIM_TOKEN_WRONG_REALM', {
          message: `The claim token is for realm "${p.realm}", not "${realm}"`,
        });
      if (p.serial_pattern !== undefined && !this.#pattern(p.serial_pattern).test(manufacturerId))
        throw new PairingError('SERIAL_NOT_ALLOWED', {
          message: `Manufacturer id ${manufacturerId} is not allowed by this claim token (pattern ${p.serial_pattern})`,
        });
      const deviceId = deriveDeviceId(manufacturerId, cfg.deviceIdNamespace);
      const credentialsSecret = generateCredentialsSecret();
      const secretHash = hashSecret(credentialsSecret);
      const facts: ClaimFacts = {
        realm,
        jti: p.jti,
        maxUses: p.max_uses ?? null,
        workOrder: p.batch ?? null,
        deviceId,
        manufacturerId,
        credentialsSecret,
        started,
      };
      // The event in the claim's own transaction where the store keeps the chain (one commit).
      const sealed = this.#audit?.sealedBy(this.#ext.store) === true;
      const outcome = await this.#store.claim({
        realm,
        jti: p.jti,
        manufacturerId,
        deviceId,
        secretHash,
        at: this.#ext.now().toISOString(),
        // Not a named closure: tsx names those with Object.defineProperty each time they are made.
        event: sealed ? (use: number) => claimEvent(facts, use) : undefined,
      });
      if (outcome.kind !== 'claimed') throw claimRefused(outcome, manufacturerId, deviceId, realm, cfg.deviceRegistrationLimit);
      if (!sealed) await this.#audit?.record(claimEvent(facts, outcome.use));
      this.#log.debug({ realm, deviceId, jti: p.jti }, 'device claimed');
      return { deviceId, credentialsSecret, pairingUrl: p.pairing_url, brokerUrl: cfg.brokerUrl };
    } catch (e) {
      await this.#refused(realm, manufacturerId, payload, token, e, started);
      throw e;
    }
  }

  #pattern(source: string): RegExp {
    let re = this.#patterns.get(source);
    if (!re) {
      try {
        re = serialPatternRegExp(source);
      } catch {
        throw new PairingError('SERIAL_NOT_ALLOWED', { message: 'The claim token carries an invalid serial pattern' });
      }
      if (this.#patterns.size > 1000) this.#patterns.clear();
      this.#patterns.set(source, re);
    }
    return re;
  }

  async #refused(
    realm: string,
    manufacturerId: unknown,
    payload: ClaimTokenPayload | undefined,
    token: string,
    e: unknown,
    started: number,
  ): Promise<void> {
    const code = e instanceof ImprintError ? e.code : 'INTERNAL';
    // The token is never recorded; its id only once its signature is verified, else what it claims to be.
    let claimedJti: unknown;
    if (!payload) {
      try {
        claimedJti = readClaimTokenPayload(token).jti;
      } catch {}
    }
    await this.#audit?.record({
      step: 'claim-refused',
      outcome: 'fail',
      errorCode: code,
      message: e instanceof Error ? e.message.slice(0, 500) : 'claim refused',
      hardwareSerial: typeof manufacturerId === 'string' && manufacturerId.length > 0 ? manufacturerId.slice(0, 256) : undefined,
      durationMs: performance.now() - started,
      data: {
        realm: typeof realm === 'string' ? realm.slice(0, 64) : null,
        jti: payload?.jti ?? null,
        ...(typeof claimedJti === 'string' && { unverifiedJti: claimedJti.slice(0, 64) }),
      },
    });
  }
}
