// Recording issued certificates on PostgreSQL, group-committed: the credentials requests that arrive
// while a batch forms (src/db/group-commit.ts, the one mechanism) are decided and written by one
// transaction of two pipelined statements, so N requests cost three round trips (begin, the two
// statements, commit) and one durable commit instead of N each. Measured
// (pgbench, 2 cores, load 8): one statement per request cost ~790 µs of PostgreSQL CPU each, a
// statement for 16 ~200 µs each — the commit and per-statement work were most of it.
//
// The transaction keeps each request's rules exactly as the one-device statement did: it locks the
// batch's device rows (in key order, so two instances' batches cannot deadlock on them), and for each
// device whose secret hash is still the one shown and that is not inhibited it records the
// certificate, revokes the previous one (superseded) and updates the device. A device named twice in
// one batch would be updated once with both certificates recorded: a later repeat waits for the next
// transaction. A batch that fails for another reason than a lost race is re-run one request at a time,
// so one bad request (e.g. a serial already recorded) fails alone.
import { inTransaction, type Sql } from '../../db/postgres.ts';
import type { CredentialsOutcome, CredentialsRecord } from '../pairing-store.ts';
import { type DeviceBatchJob, PgDeviceBatches } from './pg-device-batches.ts';

type Job = DeviceBatchJob<CredentialsRecord, CredentialsOutcome>;

interface OutcomeRow {
  i: number;
  secret_ok: boolean | null;
  inhibited: boolean | null;
}

/** Credentials records, grouped: `submit(record)` resolves with its outcome once its batch is committed. */
export type PgCredentialsWriter = PgDeviceBatches<CredentialsRecord, CredentialsOutcome>;

export function pgCredentialsWriter(sql: Sql): PgCredentialsWriter {
  return new PgDeviceBatches((jobs) => recordBatch(sql, jobs));
}

async function recordBatch(sql: Sql, jobs: Job[]): Promise<CredentialsOutcome[]> {
  const col = (f: (j: Job) => string) => jobs.map(f);
  const realms = col((j) => j.r.realm);
  const ids = col((j) => j.r.deviceId);
  // Two statements, pipelined in one transaction: the first locks the rows (waiting for a concurrent
  // registration or credentials request to commit); the second, whose snapshot is taken once it holds
  // them, sees what those committed, their new certificate rows included. (In one statement, a
  // certificate inserted by the transaction it waited for would be invisible, and never revoked.)
  const [, rows] = await inTransaction(sql, (tx) =>
    Promise.all([
      tx`
        SELECT 1 FROM devices d JOIN unnest(${realms}::text[], ${ids}::text[]) AS t(realm, device_id) USING (realm, device_id)
        ORDER BY d.realm, d.device_id
        FOR UPDATE OF d`,
      tx<OutcomeRow[]>`
        WITH input AS (
          SELECT * FROM unnest(${realms}::text[], ${ids}::text[], ${col((j) => j.r.secretHash)}::text[],
            ${col((j) => j.r.serialHex.toLowerCase())}::text[], ${col((j) => j.r.notAfter)}::text[], ${col((j) => j.r.at)}::text[])
            WITH ORDINALITY AS t(realm, device_id, secret_hash, serial, not_after, at, i)
        ), cur AS (
          SELECT d.realm, d.device_id, d.secret_hash, d.inhibited, d.certificate_serial
          FROM devices d JOIN input USING (realm, device_id)
        ), ok AS (
          SELECT input.*, cur.certificate_serial AS old_serial FROM input JOIN cur USING (realm, device_id)
          WHERE cur.secret_hash = input.secret_hash AND NOT cur.inhibited
        ), upd AS (
          UPDATE devices d SET first_credentials_request_at = coalesce(d.first_credentials_request_at, ok.at),
            last_credentials_request_at = ok.at, certificate_serial = ok.serial, certificate_not_after = ok.not_after
          FROM ok WHERE d.realm = ok.realm AND d.device_id = ok.device_id
          RETURNING 1
        ), rev AS (
          UPDATE certificates c SET revoked_at = ok.at, revocation_reason = 'superseded'
          FROM ok WHERE c.serial = ok.old_serial AND c.revoked_at IS NULL
          RETURNING 1
        ), ins AS (
          INSERT INTO certificates (serial, realm, device_id, issued_at, not_after)
          SELECT serial, realm, device_id, at, not_after FROM ok
          RETURNING 1
        )
        SELECT input.i::int AS i, cur.secret_hash = input.secret_hash AS secret_ok, cur.inhibited
        FROM input LEFT JOIN cur USING (realm, device_id)`,
    ]),
  );
  const out: CredentialsOutcome[] = new Array(jobs.length);
  for (const row of rows) out[row.i - 1] = row.secret_ok !== true ? 'stale' : row.inhibited ? 'inhibited' : 'issued';
  return out;
}
