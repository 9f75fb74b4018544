// `imprint audit verify --store postgres://…`: the PostgreSQL core's own audit chain (core_audit_events,
// station "pairing-core"), checked by the same ChainChecker that verifies a station's trail, an export
// and the central copy (audit-chain.ts: links, canonical bodies, hashes, contiguity, anchors). Around it,
// what only this table can get wrong: the searchable columns must say what the sealed body says, every
// event must be the core's, and the chain must reach the head row the appenders keep (a cut tail shows
// there). One read-only snapshot, so instances appending meanwhile do not look like a break.
import type { Anchor } from '../../audit/audit-anchor.ts';
import { ChainChecker } from '../../audit/audit-chain.ts';
import type { AuditEvent, ChainStatus } from '../../audit/audit-types.ts';
import { DbError } from '../../db/db-errors.ts';
import { assertNotTooNew } from '../../db/migrations.ts';
import { asUnavailable, connectPostgres, postgresSchemaVersion, redactUrl, type Sql, type TxSql } from '../../db/postgres.ts';
import { PAIRING_CORE_STATION } from '../core-audit.ts';
import { PAIRING_COMPONENT, postgresMigrations } from './pg-store.ts';

/** Rows read per query. */
const PAGE = 5000;

interface CoreAuditRow {
  seq: number;
  hash: string;
  body: string;
  ts: string;
  device_id: string | null;
  hardware_serial: string | null;
  operator: string | null;
  step: string;
  outcome: string;
}

/** Columns kept beside the body for queries, and the event member each one mirrors. */
const MIRRORS = [
  ['ts', 'ts'],
  ['device_id', 'deviceId'],
  ['hardware_serial', 'hardwareSerial'],
  ['operator', 'operator'],
  ['step', 'step'],
  ['outcome', 'outcome'],
] as const satisfies readonly (readonly [keyof CoreAuditRow, keyof AuditEvent])[];

/** The event a row holds, or why it cannot be one. */
function eventOfRow(row: CoreAuditRow): AuditEvent | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    return `event ${row.seq} cannot be read (its body is not JSON)`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `event ${row.seq} cannot be read`;
  const { v: _v, ...event } = parsed as AuditEvent & { v?: unknown };
  event.hash = row.hash;
  if (event.seq !== row.seq) return `event ${row.seq} holds the body of event ${String(event.seq)}`;
  if (event.station !== PAIRING_CORE_STATION)
    return `event ${row.seq} is not the core's (station ${JSON.stringify(event.station)}, expected ${PAIRING_CORE_STATION})`;
  for (const [column, member] of MIRRORS)
    if ((row[column] ?? undefined) !== (event[member] ?? undefined))
      return `event ${row.seq}: column ${column} does not say what its sealed body says (edited after it was written)`;
  return event;
}

/** Verifies the chain in `sql`'s pairing schema (see above). */
export async function verifyPgCoreAuditChain(sql: Sql, opts: { anchors?: readonly Anchor[] } = {}): Promise<ChainStatus> {
  return (await sql.begin('isolation level repeatable read read only', (tx) => verifyIn(tx, opts))) as ChainStatus;
}

async function verifyIn(tx: TxSql, opts: { anchors?: readonly Anchor[] }): Promise<ChainStatus> {
  const checker = new ChainChecker({ fromSeq: 1, anchors: opts.anchors });
  let after = 0;
  while (!checker.done) {
    const rows = await tx<CoreAuditRow[]>`
      SELECT seq, hash, body, ts, device_id, hardware_serial, operator, step, outcome
      FROM core_audit_events WHERE seq > ${after} ORDER BY seq LIMIT ${PAGE}`;
    for (const row of rows) {
      const event = eventOfRow(row);
      if (typeof event === 'string') checker.fail(row.seq, event);
      else checker.push(event);
      if (checker.done) break;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].seq;
  }
  const [head] = await tx<{ last_seq: number; last_hash: string }[]>`SELECT last_seq, last_hash FROM core_audit_head WHERE id`;
  if (!checker.done) {
    const problem = headProblem(head, checker.last ?? { seq: 0, hash: '' });
    if (problem) checker.fail(problem.seq, problem.reason);
  }
  return checker.finish();
}

/** The head row (the appenders' own record of the end) against the last event verified. */
function headProblem(
  head: { last_seq: number; last_hash: string } | undefined,
  last: { seq: number; hash: string },
): { seq: number; reason: string } | undefined {
  if (!head)
    return last.seq > 0
      ? { seq: last.seq, reason: 'the chain head row is missing (deleted after events were written)' }
      : undefined;
  if (head.last_seq > last.seq)
    return {
      seq: last.seq + 1,
      reason: `events ${last.seq + 1}..${head.last_seq} are missing: the chain head records ${head.last_seq} events (the chain was cut)`,
    };
  if (head.last_seq < last.seq)
    return {
      seq: head.last_seq + 1,
      reason: `events after ${head.last_seq}, where the chain head stands, were not appended by the core (inserted by hand)`,
    };
  if (last.seq > 0 && head.last_hash !== last.hash)
    return { seq: last.seq, reason: `the chain head records another hash for event ${last.seq} (one of them was rewritten)` };
  return undefined;
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
