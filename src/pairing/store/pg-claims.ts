// Claim tokens and claims on PostgreSQL. A claim is one transaction that locks the token's row, so
// claims with one token serialize across instances and its use count can never pass its limit.
// Rows that do not exist yet cannot be locked: when two claims insert the same new device or
// manufacturer id, the loser's unique violation re-runs its transaction, which then sees the winner.
import { constraintOf, inTransaction, type Sql } from '../../db/postgres.ts';
import { type ClaimOutcome, type ClaimStore, claimRefusal, type RevokeTokenOutcome } from '../claims/claim-store.ts';
import { LIMIT_CONSTRAINT } from './pg-devices.ts';
import { type TokenDbRow, toTokenRecord } from './rows.ts';

export function pgClaimStore(sql: Sql): ClaimStore {
  return {
    insertToken: async (t) => {
      await sql`
        INSERT INTO claim_tokens (jti, realm, created_at, expires_at, max_uses, serial_pattern, batch)
        VALUES (${t.jti}, ${t.realm}, ${t.createdAt}, ${t.expiresAt}, ${t.maxUses}, ${t.serialPattern}, ${t.batch})`;
    },
    getToken: async (jti) => {
      const [r] = await sql<TokenDbRow[]>`SELECT * FROM claim_tokens WHERE jti = ${jti}`;
      return r && toTokenRecord(r);
    },
    listTokens: async (realm) =>
      (await sql<TokenDbRow[]>`SELECT * FROM claim_tokens WHERE realm = ${realm} ORDER BY created_at, jti`).map(toTokenRecord),
    revokeToken: (realm, jti, at) =>
      inTransaction(sql, async (tx): Promise<RevokeTokenOutcome> => {
        const [r] = await tx<TokenDbRow[]>`SELECT * FROM claim_tokens WHERE jti = ${jti} FOR UPDATE`;
        const token = r && toTokenRecord(r);
        if (!token || token.realm !== realm) return { kind: 'not_found' };
        if (token.revokedAt) return { kind: 'already_revoked', token };
        await tx`UPDATE claim_tokens SET revoked_at = ${at} WHERE jti = ${jti}`;
        return { kind: 'revoked', token: { ...token, revokedAt: at } };
      }),
    claim: async (c): Promise<ClaimOutcome> => {
      try {
        return await inTransaction(
          sql,
          async (tx): Promise<ClaimOutcome> => {
            // Pipelined in this order on purpose: each statement reads its own snapshot, and a racing claim
            // writes device and claim in one transaction, so a device it committed before the device read
            // has its claim visible to the later claim read (ALREADY_CLAIMED, never DEVICE_EXISTS).
            const [[t], [device], [claimed]] = await Promise.all([
              tx<TokenDbRow[]>`SELECT * FROM claim_tokens WHERE jti = ${c.jti} FOR UPDATE`,
              tx`SELECT 1 FROM devices WHERE realm = ${c.realm} AND device_id = ${c.deviceId}`,
              tx<{ deviceId: string; claimedAt: string }[]>`
                SELECT device_id AS "deviceId", claimed_at AS "claimedAt" FROM claims
                WHERE realm = ${c.realm} AND manufacturer_id = ${c.manufacturerId}`,
            ]);
            const token = t && toTokenRecord(t);
            const refusal = claimRefusal(c.realm, token, claimed, device !== undefined);
            if (refusal) return refusal;
            await tx`
              INSERT INTO devices (realm, device_id, secret_hash, first_registration_at, last_registration_at)
              VALUES (${c.realm}, ${c.deviceId}, ${c.secretHash}, ${c.at}, ${c.at})`;
            await tx`UPDATE claim_tokens SET uses = uses + 1 WHERE jti = ${c.jti}`;
            await tx`
              INSERT INTO claims (realm, manufacturer_id, device_id, jti, claimed_at)
              VALUES (${c.realm}, ${c.manufacturerId}, ${c.deviceId}, ${c.jti}, ${c.at})`;
            return { kind: 'claimed', use: (token?.uses ?? 0) + 1 };
          },
          { retryOn: ['23505'] },
        );
      } catch (e) {
        if (constraintOf(e) === LIMIT_CONSTRAINT) return { kind: 'limit' };
        throw e;
      }
    },
  };
}
