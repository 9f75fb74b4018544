// The pairing store on PostgreSQL, shared by any number of `imprint pairing serve` instances: a
// pool per instance, durable commits only (the store refuses to start otherwise), migrations run
// once under an advisory lock, and the keys of the fleet recorded so that no instance signs with a
// CA, or trusts a claim key, the others do not have.
import { DbError } from '../../db/db-errors.ts';
import { type Migration, sqlFileMigrations } from '../../db/migrations.ts';
import {
  asUnavailable,
  checkPostgresDurability,
  connectPostgres,
  migratePostgres,
  postgresSchemaVersion,
  redactUrl,
  type Sql,
} from '../../db/postgres.ts';
import type { ClaimStore } from '../claims/claim-store.ts';
import type { SignStore } from '../foundries/sign-store.ts';
import type { CentralAuditStore } from '../import/central-audit-store.ts';
import type { ImportStore } from '../import/import-store.ts';
import type { CertificateStore, DeviceStore, FleetKey, PairingStore, RealmStore, StoreHealth } from '../pairing-store.ts';
import { pgClaimStore } from './pg-claims.ts';
import { PgCoreAudit } from './pg-core-audit.ts';
import { type PgCredentialsWriter, pgCredentialsWriter } from './pg-credentials.ts';
import { PgDeviceReader } from './pg-device-reads.ts';
import { pgCertificateStore, pgDeviceStore, pgRealmStore } from './pg-devices.ts';
import { pgCentralAuditStore, pgImportStore } from './pg-imports.ts';
import { type PgRegistrationWriter, pgRegistrationWriter } from './pg-registrations.ts';
import { pgSignStore } from './pg-signs.ts';
import { StoreError } from './store-errors.ts';
import { instrument, StoreMetrics } from './store-metrics.ts';

/** The component name under which the pairing schema's version is recorded (imprint_schema_versions). */
export const PAIRING_COMPONENT = 'pairing';
const WHAT = 'pairing database';
const HEALTH_TIMEOUT_MS = 2000;

/** The numbered migrations of the PostgreSQL pairing store, `migrations/postgres/NNN-name.sql`. */
export function postgresMigrations(): Migration[] {
  return sqlFileMigrations(new URL('../migrations/postgres/', import.meta.url));
}

export interface PostgresStoreOptions {
  url: string;
  /** Connections of this instance's pool (default: the URL's `max`, else 20). */
  poolSize?: number;
  /** Stop migrating at this version (tests of upgrades). */
  upTo?: number;
}

export class PostgresPairingStore implements PairingStore {
  readonly engine = 'postgres' as const;
  readonly realms: RealmStore;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly claims: ClaimStore;
  readonly signs: SignStore;
  readonly imports: ImportStore;
  readonly centralAudit: CentralAuditStore;
  readonly coreAudit: PgCoreAudit;
  readonly url: string;
  readonly #sql: Sql;
  readonly #durability: string;
  readonly #poolSize: number;
  readonly #metrics = new StoreMetrics();
  readonly #credentials: PgCredentialsWriter;
  readonly #registrations: PgRegistrationWriter;
  readonly #reads: PgDeviceReader;
  #closed = false;

  static async connect(o: PostgresStoreOptions): Promise<PostgresPairingStore> {
    const sql = connectPostgres({ url: o.url, poolSize: o.poolSize, applicationName: 'imprint-pairing' });
    const poolSize = sql.options.max;
    try {
      const durability = await checkPostgresDurability(sql);
      await migratePostgres(sql, postgresMigrations(), PAIRING_COMPONENT, WHAT, o.upTo);
      return new PostgresPairingStore(sql, o.url, durability, poolSize);
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw asUnavailable(e, redactUrl(o.url));
    }
  }

  private constructor(sql: Sql, url: string, durability: string, poolSize: number) {
    this.#sql = sql;
    this.url = url;
    this.#durability = durability;
    this.#poolSize = poolSize;
    const m = this.#metrics;
    const unavailable = (e: unknown) => asUnavailable(e, WHAT);
    this.realms = instrument('realms', pgRealmStore(sql), m, unavailable);
    this.#credentials = pgCredentialsWriter(sql);
    this.#registrations = pgRegistrationWriter(sql);
    this.#reads = new PgDeviceReader(sql);
    this.devices = instrument('devices', pgDeviceStore(sql, this.#reads, this.#credentials, this.#registrations), m, unavailable);
    this.certificates = instrument('certificates', pgCertificateStore(sql), m, unavailable);
    this.claims = instrument('claims', pgClaimStore(sql), m, unavailable);
    this.signs = instrument('signs', pgSignStore(sql), m, unavailable);
    this.imports = instrument('imports', pgImportStore(sql), m, unavailable);
    this.centralAudit = instrument('centralAudit', pgCentralAuditStore(sql), m, unavailable);
    this.coreAudit = new PgCoreAudit(sql);
  }

  durability(): string {
    return this.#durability;
  }

  schemaVersion(): Promise<number> {
    return postgresSchemaVersion(this.#sql, PAIRING_COMPONENT);
  }

  /**
   * Records the fingerprint of a key the fleet shares (the CA certificate, the claim-signing key), or
   * checks it against the one recorded first. Throws StoreError FLEET_KEY_MISMATCH.
   */
  async adoptKey(name: FleetKey, sha256: string, at: string): Promise<'recorded' | 'same'> {
    try {
      const inserted = await this.#sql`
        INSERT INTO fleet_keys (name, sha256, recorded_at) VALUES (${name}, ${sha256}, ${at}) ON CONFLICT (name) DO NOTHING RETURNING 1`;
      if (inserted.length > 0) return 'recorded';
      const [row] = await this.#sql<{ sha256: string; recorded_at: string }[]>`
        SELECT sha256, recorded_at FROM fleet_keys WHERE name = ${name}`;
      if (row.sha256 === sha256) return 'same';
      throw new StoreError(
        'FLEET_KEY_MISMATCH',
        `${name}: this instance sha256 ${sha256.slice(0, 16)}…, the fleet ${row.sha256.slice(0, 16)}… (recorded ${row.recorded_at}).`,
      );
    } catch (e) {
      throw asUnavailable(e, WHAT);
    }
  }

  async fleetKey(name: FleetKey): Promise<string | undefined> {
    try {
      const [row] = await this.#sql<{ sha256: string }[]>`SELECT sha256 FROM fleet_keys WHERE name = ${name}`;
      return row?.sha256;
    } catch (e) {
      throw asUnavailable(e, WHAT);
    }
  }

  /**
   * Registrations and credentials records are group-committed (a batch: one statement, one commit);
   * every other write is its own transaction (PostgreSQL flushes the WAL of concurrent commits together).
   */
  commitStats(): { batches: number; writes: number } {
    const writes = this.#metrics.committedWrites;
    const c = this.#credentials.stats();
    const r = this.#registrations.stats();
    return { batches: Math.max(0, writes - c.writes - r.writes) + c.batches + r.batches, writes };
  }

  async health(): Promise<StoreHealth> {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let h: StoreHealth;
    try {
      await Promise.race([
        this.#sql`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
        }),
      ]);
      h = { ok: true, latencyMs: performance.now() - start };
    } catch (e) {
      const code = (e as { code?: string }).code;
      h = { ok: false, latencyMs: performance.now() - start, error: code ?? (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
    this.#metrics.lastHealth = h;
    return h;
  }

  metricsText(): string {
    return this.#metrics.render('postgres', [
      {
        name: 'imprint_pairing_db_pool_size',
        help: "Connections this instance's pool may open.",
        type: 'gauge',
        value: this.#poolSize,
      },
    ]);
  }

  /** The pool, for tests and tools that need plain SQL (never the domain). */
  get sql(): Sql {
    if (this.#closed) throw new DbError('DB_CLOSED', `(${WHAT})`);
    return this.#sql;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#reads.drain(), this.#credentials.drain(), this.#registrations.drain(), this.coreAudit.close()]);
    await this.#sql.end({ timeout: 5 });
  }
}
