// Claim tokens and claims on SQLite (migration 005): a claim's checks, use count and device row in
// one group-committed write, with the core's audit event of it (migration 008).
import type { SqliteDatabase, SqliteWriter } from '../../db/sqlite.ts';
import {
  type ClaimOutcome,
  type ClaimRequest,
  type ClaimStore,
  claimRefusal,
  type RevokeTokenOutcome,
} from '../claims/claim-store.ts';
import { emptyDeviceRow, type TokenDbRow, toTokenRecord } from './rows.ts';
import type { SqliteCoreAudit } from './sqlite-core-audit.ts';
import type { SqliteDeviceRows } from './sqlite-devices.ts';

export function sqliteClaimStore(
  db: SqliteDatabase,
  rows: SqliteDeviceRows,
  writer: SqliteWriter,
  audit: SqliteCoreAudit,
): ClaimStore {
  const s = {
    insertToken: db.prepare(
      `INSERT INTO claim_tokens (jti, realm, created_at, expires_at, max_uses, serial_pattern, batch)
       VALUES (@jti, @realm, @createdAt, @expiresAt, @maxUses, @serialPattern, @batch)`,
    ),
    getToken: db.prepare<[string], TokenDbRow>('SELECT * FROM claim_tokens WHERE jti = ?'),
    listTokens: db.prepare<[string], TokenDbRow>('SELECT * FROM claim_tokens WHERE realm = ? ORDER BY created_at, jti'),
    revoke: db.prepare('UPDATE claim_tokens SET revoked_at = ? WHERE realm = ? AND jti = ? AND revoked_at IS NULL'),
    bumpUses: db.prepare('UPDATE claim_tokens SET uses = uses + 1 WHERE jti = ?'),
    claimOf: db.prepare<[string, string], { device_id: string; claimed_at: string }>(
      'SELECT device_id, claimed_at FROM claims WHERE realm = ? AND manufacturer_id = ?',
    ),
    insertClaim: db.prepare('INSERT INTO claims (realm, manufacturer_id, device_id, jti, claimed_at) VALUES (?, ?, ?, ?, ?)'),
  };
  const getToken = (jti: string) => {
    const r = s.getToken.get(jti);
    return r && toTokenRecord(r);
  };
  return {
    insertToken: (t) =>
      writer.write(() => {
        s.insertToken.run(t);
      }),
    getToken: async (jti) => getToken(jti),
    listTokens: async (realm) => s.listTokens.all(realm).map(toTokenRecord),
    revokeToken: (realm, jti, at) =>
      writer.write((): RevokeTokenOutcome => {
        const token = getToken(jti);
        if (!token || token.realm !== realm) return { kind: 'not_found' };
        if (token.revokedAt) return { kind: 'already_revoked', token };
        s.revoke.run(at, realm, jti);
        return { kind: 'revoked', token: { ...token, revokedAt: at } };
      }),
    claim: (r: ClaimRequest) =>
      writer.write((): ClaimOutcome => {
        const token = getToken(r.jti);
        const c = s.claimOf.get(r.realm, r.manufacturerId);
        const claimed = c && { deviceId: c.device_id, claimedAt: c.claimed_at };
        const refusal = claimRefusal(r.realm, token, claimed, rows.getDevice(r.realm, r.deviceId) !== undefined);
        if (refusal) return refusal;
        if (rows.atLimit(r.realm)) return { kind: 'limit' };
        rows.putDevice({
          ...emptyDeviceRow(r.realm, r.deviceId),
          secretHash: r.secretHash,
          firstRegistrationAt: r.at,
          lastRegistrationAt: r.at,
        });
        s.bumpUses.run(r.jti);
        s.insertClaim.run(r.realm, r.manufacturerId, r.deviceId, r.jti, r.at);
        const use = (token?.uses ?? 0) + 1;
        if (r.event) audit.sealInWrite(r.event(use));
        return { kind: 'claimed', use };
      }),
  };
}
