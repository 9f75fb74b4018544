// Registrations on PostgreSQL, group-committed (pg-device-batches.ts): the registrations that arrive
// while a batch forms are one upsert statement and one commit. With one statement and one commit per
// registration, keep-alive registrations cost ~150–230 µs of PostgreSQL CPU and as much client CPU
// each (`npm run bench:pairing -- --store postgres`), mostly the statement's and the commit's fixed cost.
//
// The statement keeps each registration's rules exactly as the one-device statement did: a known
// device may always register again unless it has requested credentials (the upsert's WHERE, on the
// row it locks, so a confirmation committed by another instance meanwhile is seen); a new device bumps
// its realm's count (trigger), whose CHECK fails the statement once the limit is reached. Rows are
// written in key order, so two instances' batches cannot deadlock on them. A batch that hits the limit
// is re-run one registration at a time, and each of those gets its own answer.

import { constraintOf, retrying, type Sql } from '../../db/postgres.ts';
import type { RegisterOutcome, RegisterRequest } from '../pairing-store.ts';
import { type DeviceBatchJob, PgDeviceBatches } from './pg-device-batches.ts';

/** The CHECK on a realm's device count (migration 001): its registration limit is reached. */
export const LIMIT_CONSTRAINT = 'realm_device_limit_reached';

type Job = DeviceBatchJob<RegisterRequest, RegisterOutcome>;

/** Registrations, grouped: `submit(request)` resolves with its outcome once its batch is committed. */
export type PgRegistrationWriter = PgDeviceBatches<RegisterRequest, RegisterOutcome>;

export function pgRegistrationWriter(sql: Sql): PgRegistrationWriter {
  return new PgDeviceBatches((jobs) => upsertBatch(sql, jobs));
}

async function upsertBatch(sql: Sql, jobs: Job[]): Promise<RegisterOutcome[]> {
  const col = <T>(f: (j: Job) => T) => jobs.map(f);
  const intro = (j: Job) => (j.r.initialIntrospection === null ? null : JSON.stringify(j.r.initialIntrospection));
  try {
    // Re-run if it deadlocks with an import locking the same realm's count (rare, detected by the server).
    const rows = await retrying(
      () => sql<{ realm: string; device_id: string }[]>`
        INSERT INTO devices AS d (realm, device_id, secret_hash, inhibited, first_registration_at, last_registration_at, initial_introspection)
        SELECT realm, device_id, secret_hash, false, at, at, intro
        FROM unnest(${col((j) => j.r.realm)}::text[], ${col((j) => j.r.deviceId)}::text[], ${col((j) => j.r.secretHash)}::text[],
          ${col((j) => j.r.at)}::text[], ${col(intro)}::text[]) AS t(realm, device_id, secret_hash, at, intro)
        ORDER BY realm, device_id
        ON CONFLICT (realm, device_id) DO UPDATE SET secret_hash = excluded.secret_hash, inhibited = false,
          first_registration_at = coalesce(d.first_registration_at, excluded.first_registration_at),
          last_registration_at = excluded.last_registration_at, initial_introspection = excluded.initial_introspection
        WHERE d.first_credentials_request_at IS NULL
        RETURNING d.realm, d.device_id`,
    );
    const registered = new Set(rows.map((r) => `${r.realm}\u0000${r.device_id}`));
    return jobs.map((j) => (registered.has(j.key) ? 'registered' : 'confirmed'));
  } catch (e) {
    // Alone, a registration past the realm's limit is that answer (in a batch, the batch re-runs one by one).
    if (jobs.length === 1 && constraintOf(e) === LIMIT_CONSTRAINT) return ['limit'];
    throw e;
  }
}
