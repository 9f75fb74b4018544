// The claim store contract: the tokens plant IT minted (their uses and revocation, never the token
// itself) and every claimed manufacturer id. `claim` decides and writes in one transaction with the
// device row, so concurrent claims, on any instance, never exceed a token's uses nor claim one
// manufacturer id twice. Engines: store/sqlite-claims.ts, store/pg-claims.ts.
import type { CoreEvent } from '../core-audit.ts';

export interface ClaimTokenRecord {
  jti: string;
  realm: string;
  createdAt: string;
  expiresAt: string;
  maxUses: number | null;
  uses: number;
  serialPattern: string | null;
  batch: string | null;
  revokedAt: string | null;
}

export type NewClaimToken = Omit<ClaimTokenRecord, 'uses' | 'revokedAt'>;

export interface ClaimRequest {
  realm: string;
  jti: string;
  manufacturerId: string;
  deviceId: string;
  secretHash: string;
  at: string;
  /** The core's audit event of this claim (`use`: the token's use count), as SignRequest.event. */
  event?: (use: number) => CoreEvent;
}

export type ClaimOutcome =
  | { kind: 'claimed'; use: number }
  | { kind: 'unknown_token' }
  | { kind: 'revoked' }
  | { kind: 'used_up'; maxUses: number }
  | { kind: 'already_claimed'; deviceId: string; claimedAt: string }
  | { kind: 'device_exists' }
  | { kind: 'limit' };

export type RevokeTokenOutcome =
  | { kind: 'revoked'; token: ClaimTokenRecord }
  | { kind: 'not_found' }
  | { kind: 'already_revoked'; token: ClaimTokenRecord };

export interface ClaimStore {
  insertToken(t: NewClaimToken): Promise<void>;
  getToken(jti: string): Promise<ClaimTokenRecord | undefined>;
  listTokens(realm: string): Promise<ClaimTokenRecord[]>;
  revokeToken(realm: string, jti: string, at: string): Promise<RevokeTokenOutcome>;
  /** Registers the device (secret `secretHash`) and counts a use of the token, or says why not. */
  claim(r: ClaimRequest): Promise<ClaimOutcome>;
}

/**
 * The rules of a claim, in the order the refusals are reported, over what the transaction read
 * (locked): shared by both engines. undefined: the claim may proceed (the realm limit is checked
 * by the insert itself).
 */
export function claimRefusal(
  realm: string,
  token: ClaimTokenRecord | undefined,
  claimed: { deviceId: string; claimedAt: string } | undefined,
  deviceExists: boolean,
): ClaimOutcome | undefined {
  if (!token || token.realm !== realm) return { kind: 'unknown_token' };
  if (token.revokedAt) return { kind: 'revoked' };
  if (token.maxUses !== null && token.uses >= token.maxUses) return { kind: 'used_up', maxUses: token.maxUses };
  if (claimed) return { kind: 'already_claimed', ...claimed };
  if (deviceExists) return { kind: 'device_exists' };
  return undefined;
}
