// PairingStore on SQLite (better-sqlite3): WAL + synchronous=FULL so an acknowledged write survives
// power loss, and group commit so that durability costs one fsync per batch, not per request.
import { readdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ImprintError } from '../common/errors.ts';
import { preparePrivateDatabase } from '../common/private-fs.ts';
import type {
  CertificateRow,
  DeviceRow,
  IssuedCertificateRow,
  PairingStore,
  PairingStoreWriter,
  RealmRow,
  RevocationReason,
  RevokedCertificateRow,
} from './pairing-store.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
/** Upper bound on how long a batch waits for companions (a slow disk must not add more latency). */
const MAX_COMMIT_WAIT_MS = 5;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered migrations `NNN-name.sql`, in order. */
export function loadMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}-.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(new URL(f, MIGRATIONS_DIR), 'utf8') }));
}

/** Bring the schema to `upTo` (default: latest), one transaction per migration. */
export function migrate(db: Database.Database, upTo?: number): number {
  const migrations = loadMigrations();
  const latest = migrations.at(-1)?.version ?? 0;
  let current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) {
    throw new ImprintError(
      'STORE_TOO_NEW',
      `Pairing database schema v${current} is newer than this version supports (v${latest})`,
      {
        hint: 'Upgrade Imprint to open this data directory',
      },
    );
  }
  for (const m of migrations) {
    if (m.version <= current || (upTo !== undefined && m.version > upTo)) continue;
    // IMMEDIATE, and the version re-read inside: two processes opening one old database at once
    // apply each migration exactly once.
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    current = m.version;
  }
  return current;
}

interface DeviceDbRow {
  realm: string;
  device_id: string;
  secret_hash: string | null;
  inhibited: number;
  first_registration_at: string | null;
  last_registration_at: string | null;
  first_credentials_request_at: string | null;
  last_credentials_request_at: string | null;
  certificate_serial: string | null;
  certificate_not_after: string | null;
  initial_introspection: string | null;
}

interface CertificateDbRow {
  serial: string;
  realm: string;
  device_id: string;
  issued_at: string;
  not_after: string;
  revoked_at: string | null;
  revocation_reason: RevocationReason | null;
}

interface RealmDbRow {
  name: string;
  public_key_pem: string;
  broker_url: string;
  device_registration_limit: number | null;
  device_id_namespace: string;
  factory: string | null;
  created_at: string;
}

function toDevice(r: DeviceDbRow): DeviceRow {
  return {
    realm: r.realm,
    deviceId: r.device_id,
    secretHash: r.secret_hash,
    inhibited: r.inhibited !== 0,
    firstRegistrationAt: r.first_registration_at,
    lastRegistrationAt: r.last_registration_at,
    firstCredentialsRequestAt: r.first_credentials_request_at,
    lastCredentialsRequestAt: r.last_credentials_request_at,
    certificateSerial: r.certificate_serial,
    certificateNotAfter: r.certificate_not_after,
    initialIntrospection: r.initial_introspection === null ? null : JSON.parse(r.initial_introspection),
  };
}

function toRealm(r: RealmDbRow): RealmRow {
  return {
    name: r.name,
    publicKeyPem: r.public_key_pem,
    brokerUrl: r.broker_url,
    deviceRegistrationLimit: r.device_registration_limit,
    deviceIdNamespace: r.device_id_namespace,
    factory: r.factory,
    createdAt: r.created_at,
  };
}

interface PendingWrite {
  op: (tx: PairingStoreWriter) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class SqlitePairingStore implements PairingStore {
  readonly #db: Database.Database;
  readonly #stmts;
  readonly #writer: PairingStoreWriter;
  readonly #runBatch: (batch: PendingWrite[], outcomes: { ok: boolean; value: unknown }[]) => void;
  #queue: PendingWrite[] = [];
  #flushScheduled = false;
  #flushed: Promise<void> | undefined;
  #closed = false;
  #stats = { batches: 0, writes: 0 };
  #lastCommitMs = 0;
  #batchStart = 0;
  #seen = 0;
  #flushDone: (() => void) | undefined;

  static open(file: string): SqlitePairingStore {
    return new SqlitePairingStore(file);
  }

  private constructor(file: string) {
    preparePrivateDatabase(file);
    const db = new Database(file);
    this.#db = db;
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (e) {
      db.close();
      throw e;
    }
    this.#stmts = {
      getRealm: db.prepare<[string], RealmDbRow>('SELECT * FROM realms WHERE name = ?'),
      listRealms: db.prepare<[], RealmDbRow>('SELECT * FROM realms ORDER BY name'),
      insertRealm: db.prepare(
        `INSERT INTO realms (name, public_key_pem, broker_url, device_registration_limit, device_id_namespace, factory, created_at)
         VALUES (@name, @publicKeyPem, @brokerUrl, @deviceRegistrationLimit, @deviceIdNamespace, @factory, @createdAt)`,
      ),
      getDevice: db.prepare<[string, string], DeviceDbRow>('SELECT * FROM devices WHERE realm = ? AND device_id = ?'),
      countDevices: db.prepare<[string], number>('SELECT devices FROM realm_device_counts WHERE realm = ?').pluck(),
      // An upsert, not INSERT OR REPLACE: the replace's implicit delete would skip the count triggers.
      putDevice: db.prepare(
        `INSERT INTO devices (realm, device_id, secret_hash, inhibited, first_registration_at, last_registration_at,
           first_credentials_request_at, last_credentials_request_at, certificate_serial, certificate_not_after, initial_introspection)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (realm, device_id) DO UPDATE SET secret_hash = excluded.secret_hash, inhibited = excluded.inhibited,
           first_registration_at = excluded.first_registration_at, last_registration_at = excluded.last_registration_at,
           first_credentials_request_at = excluded.first_credentials_request_at,
           last_credentials_request_at = excluded.last_credentials_request_at, certificate_serial = excluded.certificate_serial,
           certificate_not_after = excluded.certificate_not_after, initial_introspection = excluded.initial_introspection`,
      ),
      recordCertificate: db.prepare(
        'INSERT INTO certificates (serial, realm, device_id, issued_at, not_after) VALUES (@serialHex, @realm, @deviceId, @issuedAt, @notAfter)',
      ),
      revokeCertificate: db.prepare(
        'UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL',
      ),
      isRevoked: db.prepare<[string], number>('SELECT 1 FROM certificates WHERE serial = ? AND revoked_at IS NOT NULL').pluck(),
      getCertificate: db.prepare<[string], CertificateDbRow>('SELECT * FROM certificates WHERE serial = ?'),
      listRevoked: db.prepare<[], { serial: string; revoked_at: string; revocation_reason: RevocationReason }>(
        'SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial',
      ),
      getMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck(),
      bumpMeta: db.prepare(
        `INSERT INTO meta (key, value) VALUES (?, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
      ),
    };
    const s = this.#stmts;
    this.#writer = {
      getRealm: (name) => this.getRealm(name),
      listRealms: () => this.listRealms(),
      getDevice: (realm, id) => this.getDevice(realm, id),
      countDevices: (realm) => this.countDevices(realm),
      isRevoked: (serial) => this.isRevoked(serial),
      getCertificate: (serial) => this.getCertificate(serial),
      listRevoked: () => this.listRevoked(),
      revocationCount: () => this.revocationCount(),
      putDevice: (d) => {
        s.putDevice.run(
          d.realm,
          d.deviceId,
          d.secretHash,
          d.inhibited ? 1 : 0,
          d.firstRegistrationAt,
          d.lastRegistrationAt,
          d.firstCredentialsRequestAt,
          d.lastCredentialsRequestAt,
          d.certificateSerial,
          d.certificateNotAfter,
          d.initialIntrospection === null ? null : JSON.stringify(d.initialIntrospection),
        );
      },
      recordCertificate: (c: IssuedCertificateRow) => {
        s.recordCertificate.run({ ...c, serialHex: c.serialHex.toLowerCase() });
      },
      revokeCertificate: (serial, revokedAt, reason) => {
        if (s.revokeCertificate.run(revokedAt, reason, serial.toLowerCase()).changes > 0) s.bumpMeta.run('revocations');
      },
    };
    // Each op in its own savepoint (a nested better-sqlite3 transaction), the batch in one commit.
    const runOp = db.transaction((op: PendingWrite['op']) => op(this.#writer));
    this.#runBatch = db.transaction((batch: PendingWrite[], outcomes: { ok: boolean; value: unknown }[]) => {
      for (const w of batch) {
        try {
          outcomes.push({ ok: true, value: runOp(w.op) });
        } catch (e) {
          outcomes.push({ ok: false, value: e });
        }
      }
    });
  }

  getRealm(name: string): RealmRow | undefined {
    const r = this.#stmts.getRealm.get(name);
    return r && toRealm(r);
  }

  listRealms(): RealmRow[] {
    return this.#stmts.listRealms.all().map(toRealm);
  }

  createRealm(row: RealmRow): void {
    this.#assertOpen();
    this.#stmts.insertRealm.run(row);
  }

  getDevice(realm: string, deviceId: string): DeviceRow | undefined {
    const r = this.#stmts.getDevice.get(realm, deviceId);
    return r && toDevice(r);
  }

  countDevices(realm: string): number {
    return this.#stmts.countDevices.get(realm) ?? 0;
  }

  isRevoked(serialHex: string): boolean {
    return this.#stmts.isRevoked.get(serialHex.toLowerCase()) !== undefined;
  }

  getCertificate(serialHex: string): CertificateRow | undefined {
    const r = this.#stmts.getCertificate.get(serialHex.toLowerCase());
    if (!r) return undefined;
    return {
      serialHex: r.serial,
      realm: r.realm,
      deviceId: r.device_id,
      issuedAt: r.issued_at,
      notAfter: r.not_after,
      revokedAt: r.revoked_at,
      reason: r.revocation_reason,
    };
  }

  listRevoked(): RevokedCertificateRow[] {
    return this.#stmts.listRevoked
      .all()
      .map((r) => ({ serialHex: r.serial, revokedAt: r.revoked_at, reason: r.revocation_reason }));
  }

  revocationCount(): number {
    return Number(this.#stmts.getMeta.get('revocations') ?? 0);
  }

  durability(): string {
    const level = this.#db.pragma('synchronous', { simple: true }) as number;
    return ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level] ?? String(level);
  }

  journalMode(): string {
    return String(this.#db.pragma('journal_mode', { simple: true })).toUpperCase();
  }

  schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /** Committed batches and the writes they carried (group commit at work; for metrics). */
  commitStats(): { batches: number; writes: number } {
    return { ...this.#stats };
  }

  write<T>(op: (tx: PairingStoreWriter) => T): Promise<T> {
    this.#assertOpen();
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#scheduleFlush();
      }
    });
  }

  // Group commit. The batch starts with the first queued write and commits at the next event-loop
  // turn in which no new write arrived (or once it has waited as long as the last commit took):
  // writes that complete one by one (e.g. after signing on the thread pool) then share one fsync,
  // while a burst arriving in one turn commits at once.
  #scheduleFlush(): void {
    this.#flushScheduled = true;
    this.#batchStart = performance.now();
    this.#seen = this.#queue.length;
    this.#flushed = new Promise((done) => {
      this.#flushDone = done;
    });
    setImmediate(this.#tick);
  }

  readonly #tick = (): void => {
    const grew = this.#queue.length > this.#seen;
    this.#seen = this.#queue.length;
    const waited = performance.now() - this.#batchStart;
    if (grew && !this.#closed && waited < Math.min(this.#lastCommitMs, MAX_COMMIT_WAIT_MS)) {
      setImmediate(this.#tick);
      return;
    }
    this.#flush();
    this.#flushDone?.();
  };

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#flushScheduled = false;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const start = performance.now();
    try {
      this.#runBatch(batch, outcomes);
    } catch (e) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
      const err = new ImprintError('STORE_WRITE_FAILED', 'The pairing database could not commit the write', { cause: e });
      for (const w of batch) w.reject(err);
      return;
    }
    this.#lastCommitMs = performance.now() - start;
    this.#stats.batches++;
    this.#stats.writes += batch.length;
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.value);
      else w.reject(o.value);
    });
  }

  /**
   * Statements of a feature keeping its own tables in this database (claim tokens, /sign records), prepared on
   * this connection: called from a write() op they run inside that op's transaction, with the device rows.
   */
  prepareExtension<T>(prepare: (db: Database.Database) => T): T {
    this.#assertOpen();
    return prepare(this.#db);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushScheduled) await this.#flushed;
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ImprintError('STORE_CLOSED', 'The pairing database is closed');
  }
}
