// `imprint audit verify --store postgres://…`: the PostgreSQL core's own audit chain (core_audit_events,
// station "pairing-core"), checked by the same ChainChecker that verifies a station's trail, an export
// and the central copy (audit-chain.ts: links, canonical bodies, hashes, contiguity, anchors). Around it,
// what only this table can get wrong: the searchable columns must say what the sealed body says, every
// event must be the core's, and the chain must reach the head row the appenders keep (a cut tail shows
// there). One read-only snapshot, so instances appending meanwhile do not look like a break.
import type { Anchor } from '../../audit/audit-anchor.ts';
import type { ChainStatus } from '../../audit/audit-types.ts';
import { DbError } from '../../db/db-errors.ts';
import { assertNotTooNew } from '../../db/migrations.ts';
import { asUnavailable, connectPostgres, postgresSchemaVersion, redactUrl, type Sql, type TxSql } from '../../db/postgres.ts';
import { type CoreChainHead, type CoreChainRow, verifyCoreChain } from './core-chain-verify.ts';
import { PAIRING_COMPONENT, postgresMigrations } from './pg-store.ts';

/** Rows read per query. */
const PAGE = 5000;

/** Verifies the chain in `sql`'s pairing schema in one read-only snapshot (core-chain-verify.ts). */
export async function verifyPgCoreAuditChain(sql: Sql, opts: { anchors?: readonly Anchor[] } = {}): Promise<ChainStatus> {
  return (await sql.begin('isolation level repeatable read read only', async (tx: TxSql) => {
    const [head] = await tx<CoreChainHead[]>`SELECT last_seq, last_hash FROM core_audit_head WHERE id`;
    return verifyCoreChain(
      (from) => tx<CoreChainRow[]>`
        SELECT seq, hash, body, ts, device_id, hardware_serial, operator, step, outcome
        FROM core_audit_events WHERE seq >= ${from} ORDER BY seq LIMIT ${PAGE}`,
      head ?? null,
      opts,
    );
  })) as ChainStatus;
}

/**
 * Connects to `url` without migrating (a check must not change what it checks), refuses a schema
 * newer than this code or none at all, verifies, disconnects.
 */
export async function verifyPgCoreAuditAt(url: string, opts: { anchors?: readonly Anchor[] } = {}): Promise<ChainStatus> {
  const sql = connectPostgres({ url, poolSize: 1, applicationName: 'imprint-audit-verify' });
  try {
    const version = await postgresSchemaVersion(sql, PAIRING_COMPONENT);
    if (version === 0)
      throw new DbError('DB_URL_INVALID', `${redactUrl(url)} holds no Imprint pairing store (no schema version recorded).`);
    assertNotTooNew('pairing database', version, postgresMigrations());
    return await verifyPgCoreAuditChain(sql, opts);
  } catch (e) {
    throw asUnavailable(e, redactUrl(url));
  } finally {
    await sql.end({ timeout: 5 }).catch(() => {});
  }
}
