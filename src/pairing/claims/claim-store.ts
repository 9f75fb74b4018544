// The claim tables (migration 005) on the pairing store's own connection, so that a claim's
// check-and-increment runs in the same transaction as the device row it creates.
import type { Database } from 'better-sqlite3';

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

interface TokenDbRow {
  jti: string;
  realm: string;
  created_at: string;
  expires_at: string;
  max_uses: number | null;
  uses: number;
  serial_pattern: string | null;
  batch: string | null;
  revoked_at: string | null;
}

const toRecord = (r: TokenDbRow): ClaimTokenRecord => ({
  jti: r.jti,
  realm: r.realm,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  maxUses: r.max_uses,
  uses: r.uses,
  serialPattern: r.serial_pattern,
  batch: r.batch,
  revokedAt: r.revoked_at,
});

export class ClaimStore {
  readonly #s;

  constructor(db: Database) {
    this.#s = {
      insertToken: db.prepare(
        `INSERT INTO claim_tokens (jti, realm, created_at, expires_at, max_uses, serial_pattern, batch)
         VALUES (@jti, @realm, @createdAt, @expiresAt, @maxUses, @serialPattern, @batch)`,
      ),
      getToken: db.prepare<[string], TokenDbRow>('SELECT * FROM claim_tokens WHERE jti = ?'),
      listTokens: db.prepare<[string], TokenDbRow>('SELECT * FROM claim_tokens WHERE realm = ? ORDER BY created_at, jti'),
      revoke: db.prepare('UPDATE claim_tokens SET revoked_at = ? WHERE realm = ? AND jti = ? AND revoked_at IS NULL'),
      bumpUses: db.prepare('UPDATE claim_tokens SET uses = uses + 1 WHERE jti = ?'),
      claimOf: db.prepare<[string, string], { device_id: string; jti: string; claimed_at: string }>(
        'SELECT device_id, jti, claimed_at FROM claims WHERE realm = ? AND manufacturer_id = ?',
      ),
      insertClaim: db.prepare('INSERT INTO claims (realm, manufacturer_id, device_id, jti, claimed_at) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  insertToken(r: Omit<ClaimTokenRecord, 'uses' | 'revokedAt'>): void {
    this.#s.insertToken.run(r);
  }

  getToken(jti: string): ClaimTokenRecord | undefined {
    const r = this.#s.getToken.get(jti);
    return r && toRecord(r);
  }

  listTokens(realm: string): ClaimTokenRecord[] {
    return this.#s.listTokens.all(realm).map(toRecord);
  }

  /** True when the token was live and is now revoked. */
  revoke(realm: string, jti: string, at: string): boolean {
    return this.#s.revoke.run(at, realm, jti).changes > 0;
  }

  bumpUses(jti: string): void {
    this.#s.bumpUses.run(jti);
  }

  claimOf(realm: string, manufacturerId: string): { deviceId: string; jti: string; claimedAt: string } | undefined {
    const r = this.#s.claimOf.get(realm, manufacturerId);
    return r && { deviceId: r.device_id, jti: r.jti, claimedAt: r.claimed_at };
  }

  insertClaim(realm: string, manufacturerId: string, deviceId: string, jti: string, at: string): void {
    this.#s.insertClaim.run(realm, manufacturerId, deviceId, jti, at);
  }
}
