// PostgreSQL the way Imprint uses it (the `postgres` client: pipelined queries, a small pool per
// process): durable commits only, numbered migrations applied once under an advisory lock however
// many instances start together, short transactions retried on serialization conflicts, and every
// "the database is not there" error turned into one DB_UNAVAILABLE.
import postgres from 'postgres';
import { DbError } from './db-errors.ts';
import { assertNotTooNew, type Migration, pendingMigrations } from './migrations.ts';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;
export type PgRow = postgres.Row;

export interface PostgresOptions {
  url: string;
  /** Connections in the pool (default: the URL's `max` parameter, else DEFAULT_POOL_SIZE). */
  poolSize?: number;
  /** Seconds to wait for a connection before a request fails with DB_UNAVAILABLE (default 5). */
  connectTimeoutS?: number;
  applicationName?: string;
}

/**
 * Durable commits wait for the WAL flush, so write throughput grows with the commits in flight (the
 * server flushes concurrent commits together): measured on 2 cores, 10 connections gave 2,500
 * registrations/s, 20 gave 3,700/s, 40 gave 3,900/s.
 */
export const DEFAULT_POOL_SIZE = 20;

/** Levels at which a commit is on disk (of the primary at least) before it is acknowledged. */
const DURABLE_COMMIT = new Set(['on', 'local', 'remote_write', 'remote_apply']);

export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** A pool on `url` whose sessions commit durably (synchronous_commit = on unless the URL asks for another durable level). */
export function connectPostgres(o: PostgresOptions): Sql {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new DbError('DB_URL_INVALID', `Cannot parse the store URL ${redactUrl(o.url)}.`);
  }
  if (!isPostgresUrl(o.url)) throw new DbError('DB_URL_INVALID', `Got ${redactUrl(o.url)}.`);
  const asked = url.searchParams.get('synchronous_commit');
  if (asked !== null && !DURABLE_COMMIT.has(asked))
    throw new DbError('DB_NOT_DURABLE', `The store URL sets synchronous_commit=${asked}.`);
  const fromUrl = Number(url.searchParams.get('max'));
  return postgres(o.url, {
    max: o.poolSize ?? (fromUrl > 0 ? fromUrl : DEFAULT_POOL_SIZE),
    connect_timeout: o.connectTimeoutS ?? 5,
    idle_timeout: 300,
    onnotice: () => {},
    // bigint columns (counts, limits, sequence numbers) as JS numbers: exact up to 2^53.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    // A statement stuck behind a lock, or a transaction left open, fails instead of holding the
    // instance (or its locks) forever; the URL may set other values.
    connection: {
      application_name: o.applicationName ?? 'imprint',
      synchronous_commit: 'on',
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 60_000,
    },
  });
}

/** What the server does with a commit: both must be durable, else the store refuses to run. */
export async function checkPostgresDurability(sql: Sql): Promise<string> {
  const [row] = await sql<
    { sc: string; fsync: string }[]
  >`SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync`;
  if (!DURABLE_COMMIT.has(row.sc) || row.fsync !== 'on')
    throw new DbError('DB_NOT_DURABLE', `The server runs with synchronous_commit=${row.sc}, fsync=${row.fsync}.`);
  return `synchronous_commit=${row.sc}`;
}

const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS imprint_schema_versions (
  component text PRIMARY KEY,
  version integer NOT NULL,
  migrated_at timestamptz NOT NULL DEFAULT now()
)`;

/** Advisory lock class of Imprint's migrations ("Impr"); the second key is the schema and component. */
const MIGRATION_LOCK_CLASS = 0x496d7072;

/**
 * Brings `component`'s schema (in the connection's current schema) to `upTo` (default: latest) in one
 * transaction, under a transaction-scoped advisory lock: of several instances starting together one
 * migrates, the others wait for it and then find nothing to do. Refuses a schema ahead of the code.
 */
export async function migratePostgres(
  sql: Sql,
  migrations: readonly Migration[],
  component: string,
  what: string,
  upTo?: number,
): Promise<number> {
  return sql.begin(async (tx) => {
    // Instances waiting for the one that migrates wait as long as it takes; a big migration may too.
    await tx`SET LOCAL statement_timeout = 0`;
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_CLASS}, hashtext(current_schema() || ':' || ${component}))`;
    await tx.unsafe(VERSIONS_TABLE);
    let current = await versionIn(tx, component);
    assertNotTooNew(what, current, migrations);
    for (const m of pendingMigrations(migrations, current, upTo)) {
      await tx.unsafe(m.sql);
      current = m.version;
    }
    await tx`INSERT INTO imprint_schema_versions (component, version) VALUES (${component}, ${current})
             ON CONFLICT (component) DO UPDATE SET version = excluded.version, migrated_at = now()`;
    return current;
  });
}

/** The component's schema version (0: none), without migrating. */
export async function postgresSchemaVersion(sql: Sql, component: string): Promise<number> {
  const [t] = await sql<{ t: string | null }[]>`SELECT to_regclass('imprint_schema_versions')::text AS t`;
  if (!t.t) return 0;
  return versionIn(sql, component);
}

async function versionIn(sql: Sql | TxSql, component: string): Promise<number> {
  const rows = await sql<{ version: number }[]>`SELECT version FROM imprint_schema_versions WHERE component = ${component}`;
  return rows[0]?.version ?? 0;
}

/** The SQLSTATE of a server error, else undefined. */
export function sqlState(e: unknown): string | undefined {
  return e instanceof postgres.PostgresError ? e.code : undefined;
}

export function constraintOf(e: unknown): string | undefined {
  return e instanceof postgres.PostgresError ? e.constraint_name : undefined;
}

// Client-side failures to reach the server, and server states that mean "not now" (shutdown, too
// many connections, a standby after a failover that refuses writes).
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
]);
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);

export function isUnavailable(e: unknown): boolean {
  const state = sqlState(e);
  if (state) return state.startsWith('08') || UNAVAILABLE_STATES.has(state);
  return UNREACHABLE_CODES.has(String((e as { code?: unknown } | null)?.code));
}

/** Unavailability as DB_UNAVAILABLE (one code for every transport to map); anything else unchanged. */
export function asUnavailable(e: unknown, what: string): unknown {
  if (e instanceof DbError || !isUnavailable(e)) return e;
  return new DbError('DB_UNAVAILABLE', `(${what}: ${String((e as { code?: unknown }).code)})`, { cause: e });
}

// Serialization failure and deadlock: the transaction is safe to run again from the start.
const RETRY_STATES = new Set(['40001', '40P01']);

/**
 * Runs `fn` again from the start (a few times) when PostgreSQL says it lost a race: a serialization
 * failure, a deadlock, or a SQLSTATE listed in `retryOn` (e.g. 23505 when two transactions insert
 * the same new key: the retry sees the winner's row). `fn` must be one statement or one transaction.
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  opts: { retryOn?: readonly string[]; attempts?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const state = sqlState(e);
      const retry = state !== undefined && (RETRY_STATES.has(state) || opts.retryOn?.includes(state));
      if (!retry || attempt >= attempts) throw e;
    }
  }
}

/** `fn` in a transaction, re-run as retrying() says. */
export function inTransaction<T>(
  sql: Sql,
  fn: (tx: TxSql) => Promise<T>,
  opts: { retryOn?: readonly string[]; attempts?: number } = {},
): Promise<T> {
  return retrying(async () => (await sql.begin((tx) => fn(tx))) as T, opts);
}
