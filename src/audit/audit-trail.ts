// The tamper-evident audit trail: an append-only, hash-chained SQLite table with group commit,
// indexed queries, batches closed with a signed summary, verification and exports.
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { type Logger, silentLogger } from '../common/logger.ts';
import { GroupCommit } from '../db/group-commit.ts';
import { latestVersion } from '../db/migrations.ts';
import { type SqliteDurability, sqliteDurability } from '../db/sqlite.ts';
import { eventFromEntry, sealBody } from './audit-canonical.ts';
import { openForReading, openForWriting, readingDamaged } from './audit-db-open.ts';
import { type DbVerifyOptions, type DbVerifyTarget, verifyDatabase, verifyDatabaseAsync } from './audit-db-verify.ts';
import { AuditError } from './audit-errors.ts';
import { normalizeInput, RECORD_STEP, RESERVED_STEPS } from './audit-event-schema.ts';
import { type ExportFormat, exportToFile, exportToString } from './audit-export.ts';
import { type AuditPage, AuditPageReader, type AuditSearch } from './audit-page-query.ts';
import { buildQuery, MAX_QUERY_LIMIT } from './audit-query.ts';
import { AUDIT_MIGRATIONS, CHECKPOINT_SCHEMA, checkSchemaVersion, ENTRY_HASH, ERROR_CODE, migrate } from './audit-schema.ts';
import type { AuditEvent, AuditEventInput, AuditQuery, Batch, ChainStatus } from './audit-types.ts';
import { BatchStore, publicBatch, type StoredBatch } from './batch-store.ts';
import { type BatchCloseData, identityOf, signedBatchText } from './batch-summary.ts';
import { type Checkpoint, CheckpointWriter, checkpointFileFor, makeCheckpoint, readCheckpointFile } from './chain-checkpoint.ts';
import { BODY_AT, GENESIS_HASH, hashBodyBytes, isDamage } from './chain-link.ts';
import { exportDevices, exportSelection } from './selection-export.ts';
import { loadOrCreateSigningKey, type SigningKey, tryLoadSigningKey } from './station-signing-key.ts';

export interface AuditTrailOptions {
  /** The database file, e.g. `<dataDir>/audit.db`. */
  file: string;
  stationId: string;
  /** Where the station signing key lives (default: the database's folder). */
  keyDir?: string;
  logger?: Logger;
  /** Open an existing trail for reading (verify, query, export); appends are refused. */
  readonly?: boolean;
}

type Job =
  | { kind: 'event'; input: AuditEventInput; ts: string; resolve: (e: AuditEvent) => void; reject: (e: unknown) => void }
  | { kind: 'open'; batch: Batch; resolve: (b: Batch) => void; reject: (e: unknown) => void }
  | {
      kind: 'close';
      batchId: string;
      ts: string;
      offline: boolean;
      resolve: (b: Batch) => void;
      reject: (e: unknown) => void;
    };

export interface ThroughputHour {
  hour: string;
  passed: number;
  failed: number;
}

// Appends in the same millisecond share one ISO timestamp string (formatting one costs ~0.5 µs).
let lastMs = -1;
let lastIso = '';
function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * A commit's rows, inserted in blocks of 4,096, 2,048, ... 64 rows (each size at most once, except
 * the largest): a statement's fixed cost (its program, a cursor on the table and on each of its
 * nine indexes, each seek from the root) is then paid once per block instead of once per event,
 * 1.5-2.5 µs less user CPU per event in a burst. SQLite then keeps a statement journal (a function
 * in a multi-row statement may fail mid-statement: json_extract of the generated columns): each
 * page the block changes that existed before it is copied once per statement, e.g. the leaf of
 * every index where the block inserts, ~40-50 pages of 16 KiB. Few statements per commit keep that
 * copy small: a 5,000-event commit takes 4 statements (4,096 + 512 + 256 + 128) and 8 single rows
 * instead of 18 statements (4 x 1,024 and 14 x 64), and writes ~0.7 KB of statement journal per
 * event instead of ~2.8 KB. A commit of fewer than 64 events is written row by row (no statement
 * journal). Any failure aborts the whole transaction (the caller's): a block is all or nothing,
 * like the commit it belongs to.
 *
 * Each row is written once as UTF-8 bytes, `["<hash>",<body>]` (packEntry's text), into a buffer
 * reused from commit to commit: the hash is taken over the body's bytes there and the row is bound
 * from them, where the body string was encoded twice before (hashing, binding) and the row string
 * copied once more (flattened). The statements append `|| ''` to the bound bytes: that stores them
 * as TEXT (a concatenation is text), the same bytes the string gave, NUL-terminated, so the nine
 * json_extract calls no longer copy the entry to terminate it (~3,400 of ~57,000 instructions an
 * event spent in SQLite, callgrind).
 */
class RowInserter {
  private readonly one: Database.Statement;
  private readonly sizes = [4096, 2048, 1024, 512, 256, 128, 64];
  /** Prepared on first use (a reader never inserts). */
  private readonly blocks = new Map<number, Database.Statement>();
  /** seq, then the row's bytes (a view of `bytes`), for each pending row. */
  private readonly pending: (number | Buffer)[] = [];
  private readonly db: Database.Database;
  /** Where pending rows are written; replaced by a larger one when a row does not fit. */
  private bytes = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  constructor(db: Database.Database) {
    this.db = db;
    this.one = this.insert(1);
  }

  private insert(rows: number): Database.Statement {
    if (rows === 1) return this.db.prepare("INSERT INTO events (seq, entry) VALUES (?, ? || '')");
    // The concatenation outside the VALUES: SQLite compiles a VALUES list of bare parameters in
    // linear time (4,096 rows: 2 ms), one with expressions as a compound SELECT (200 ms).
    const values = Array.from({ length: rows }, () => '(?, ?)').join(', ');
    return this.db.prepare(`INSERT INTO events (seq, entry) SELECT column1, column2 || '' FROM (VALUES ${values})`);
  }

  /** Adds the row of a canonical body and returns the body's hash. */
  add(seq: number, body: string): string {
    // At most 3 bytes per UTF-16 unit; `["` + hash + `",` before the body, `]` after.
    const room = BODY_AT + 3 * body.length + 1;
    if (this.used + room > this.bytes.length) {
      // Views of the old buffer still pending keep it alive until they are inserted.
      this.bytes = Buffer.allocUnsafe(Math.max(this.bytes.length, 4 * room));
      this.used = 0;
    }
    const b = this.bytes;
    const at = this.used;
    const end = at + BODY_AT + b.write(body, at + BODY_AT);
    const hash = hashBodyBytes(b.subarray(at + BODY_AT, end));
    b[at] = 0x5b; // [
    b[at + 1] = 0x22; // "
    b.write(hash, at + 2, 'latin1');
    b[at + 66] = 0x22; // "
    b[at + 67] = 0x2c; // ,
    b[end] = 0x5d; // ]
    this.used = end + 1;
    this.pending.push(seq, b.subarray(at, end + 1));
    if (this.pending.length === 2 * this.sizes[0]) this.flush();
    return hash;
  }

  /** Inserts every pending row now. */
  flush(): void {
    const p = this.pending;
    let at = 0;
    for (const rows of this.sizes) {
      if (p.length - at < 2 * rows) continue;
      let stmt = this.blocks.get(rows);
      if (!stmt) {
        stmt = this.insert(rows);
        this.blocks.set(rows, stmt);
      }
      for (; p.length - at >= 2 * rows; at += 2 * rows)
        stmt.run(at === 0 && p.length === 2 * rows ? p : p.slice(at, at + 2 * rows));
    }
    for (; at < p.length; at += 2) this.one.run(p[at], p[at + 1]);
    this.discard();
  }

  /** Drops pending rows (their transaction failed). */
  discard(): void {
    this.pending.length = 0;
    this.used = 0;
  }
}

export class AuditTrail {
  readonly file: string;
  readonly stationId: string;
  /** `<dir>/audit.head`: the signed chain-head checkpoint kept outside the database. */
  readonly checkpointFile: string;
  private readonly db: Database.Database;
  /** The file opened: `file`, or a private copy of it (read-only media). */
  private readonly dbPath: string;
  private readonly cleanupCopy: () => void;
  private readonly schemaVersion: number;
  private readonly checkpoints?: CheckpointWriter;
  private readonly log: Logger;
  private readonly keyDir: string;
  private readonly readonly: boolean;
  private readonly batches: BatchStore;
  /** A commit's rows, inserted in blocks (RowInserter). */
  private readonly inserts: RowInserter;
  private readonly headStmt: Database.Statement;
  private readonly rangeStmt: Database.Statement;
  /** Prepared query statements by SQL text (a few dozen filter combinations at most). */
  private readonly queryStmts = new Map<string, Database.Statement>();
  private pageReader?: AuditPageReader;
  private key?: SigningKey;
  // The one group commit (src/db): a turn's appends share a commit, and while appends keep coming
  // (a device per connection, fixtures a few turns apart) a small batch waits for its companions.
  private readonly commits = new GroupCommit<Job>((jobs) => this.commitJobs(jobs));
  private closed = false;
  private readonly listeners = new Set<(e: AuditEvent) => void>();
  /** Batch state as of the queued jobs: open batch ids are accepted, closed/closing ones refused. */
  private batchState = new Map<string, 'open' | 'closed'>();
  private openBatchId?: string;

  private constructor(opts: AuditTrailOptions) {
    this.file = opts.file;
    this.stationId = opts.stationId;
    this.checkpointFile = checkpointFileFor(opts.file);
    this.log = opts.logger ?? silentLogger;
    this.keyDir = opts.keyDir ?? dirname(opts.file);
    this.readonly = opts.readonly ?? false;
    const opened = this.readonly ? openForReading(opts.file) : openForWriting(opts.file);
    this.db = opened.db;
    this.dbPath = opened.path;
    this.cleanupCopy = opened.cleanup;
    let upgradedFrom = 0;
    try {
      if (this.readonly) this.schemaVersion = checkSchemaVersion(this.db);
      else {
        upgradedFrom = migrate(this.db);
        this.schemaVersion = latestVersion(AUDIT_MIGRATIONS);
      }
    } catch (e) {
      this.db.close();
      this.cleanupCopy();
      throw e;
    }
    this.batches = new BatchStore(this.db);
    this.inserts = new RowInserter(this.db);
    this.rangeStmt = this.db.prepare('SELECT entry FROM events WHERE seq >= ? ORDER BY seq LIMIT ?').pluck();
    this.headStmt = this.db.prepare(`SELECT seq, ${ENTRY_HASH} FROM events ORDER BY seq DESC LIMIT 1`).raw();
    this.openBatchId = this.batches.current()?.id;
    if (!this.readonly) {
      this.checkpoints = new CheckpointWriter(this.checkpointFile, () => this.signingKey(), this.log);
      const hashAt = this.db.prepare(`SELECT ${ENTRY_HASH} FROM events WHERE seq = ?`).pluck();
      // A trail upgraded from before checkpoints (or a new one) starts its checkpoint now.
      const upgraded = upgradedFrom > 0 && upgradedFrom < CHECKPOINT_SCHEMA;
      this.checkpoints.start(
        () => this.readHead(),
        (seq) => hashAt.get(seq) as string | undefined,
        upgraded,
      );
    }
  }

  static open(opts: AuditTrailOptions): AuditTrail {
    return new AuditTrail(opts);
  }

  /** Appends an event; resolves once it is committed durably (one transaction per event-loop turn). */
  append(e: AuditEventInput): Promise<AuditEvent> {
    return new Promise((resolve, reject) => {
      this.assertWritable();
      if (RESERVED_STEPS.has(e?.step))
        throw new AuditError('AUDIT_INVALID_EVENT', `step ${e.step} is reserved for the audit trail itself`);
      const input = normalizeInput(e);
      // A batch closed meanwhile still takes the event (an audit event is never dropped); its
      // signed summary keeps counting only what came before the close.
      if (input.batchId !== undefined) this.batchStateOf(input.batchId);
      this.enqueue({ kind: 'event', input, ts: nowIso(), resolve, reject });
    });
  }

  /** Live appended events (after commit). Returns an unsubscribe function. */
  onAppend(listener: (e: AuditEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  query(q: AuditQuery = {}): AuditEvent[] {
    const { sql, params } = buildQuery(q);
    let stmt = this.queryStmts.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql).pluck();
      this.queryStmts.set(sql, stmt);
    }
    return readingDamaged(this.file, () => (stmt.all(...params) as string[]).map(eventFromEntry));
  }

  /** One page of a QA search with the total of its matches (audit-page-query.ts). */
  queryPage(q: AuditSearch = {}): AuditPage {
    this.pageReader ??= new AuditPageReader(this.db, eventFromEntry);
    const reader = this.pageReader;
    return readingDamaged(this.file, () => reader.page(q));
  }

  /** The query plans of a search's page and total (tests, the bench). */
  explainPage(q: AuditSearch): string[] {
    this.pageReader ??= new AuditPageReader(this.db, eventFromEntry);
    return this.pageReader.explain(q);
  }

  /** Events in chain order from `fromSeq` on (for sync and incremental readers), at most `limit`. */
  eventsFrom(fromSeq: number, limit = 1000): AuditEvent[] {
    if (!Number.isInteger(fromSeq) || !Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT)
      throw new AuditError('AUDIT_INVALID_QUERY', `eventsFrom needs an integer seq and a limit from 1 to ${MAX_QUERY_LIMIT}`);
    return readingDamaged(this.file, () => (this.rangeStmt.all(fromSeq, limit) as string[]).map(eventFromEntry));
  }

  /** The durability settings in force on this connection (journal mode, synchronous level). */
  storageSettings(): { journalMode: string; synchronous: SqliteDurability } {
    return { journalMode: String(this.db.pragma('journal_mode', { simple: true })), synchronous: sqliteDurability(this.db) };
  }

  /** The query plan of a query (for tests and diagnostics). */
  explainQuery(q: AuditQuery): string[] {
    const { sql, params } = buildQuery(q);
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  }

  /**
   * Walks the whole chain, checks every batch summary and the batches table, and that the chain
   * still reaches its chain-head checkpoint and any `anchors` given.
   */
  verify(opts: DbVerifyOptions = {}): ChainStatus {
    this.assertOpen();
    this.flushNow();
    return verifyDatabase(this.verifyTarget(), opts);
  }

  /**
   * Like verify(), without blocking the event loop (appends go on meanwhile): for a station whose
   * UI or HTTP server must stay responsive while a long chain is checked.
   */
  async verifyAsync(opts: DbVerifyOptions = {}): Promise<ChainStatus> {
    this.assertOpen();
    this.flushNow();
    return verifyDatabaseAsync(this.verifyTarget(), opts);
  }

  /**
   * A signed checkpoint of `head` (default: the chain's current head), for QA to keep outside the
   * station (`imprint audit anchor`): pass the head a verify just checked. Needs the station key.
   */
  anchor(head?: { seq: number; hash: string }): Checkpoint {
    this.assertOpen();
    this.flushNow();
    const key = this.readonly ? tryLoadSigningKey(this.keyDir) : this.signingKey();
    if (!key) throw new AuditError('AUDIT_NO_SIGNING_KEY', `none in ${this.keyDir}: the anchor cannot be signed`);
    const at = head ?? this.readHead();
    return makeCheckpoint(key, at.seq, at.hash);
  }

  export(opts: { format: ExportFormat; batchId?: string }): string {
    this.assertOpen();
    this.flushNow();
    return readingDamaged(this.file, () => exportToString(this.db, this.exportContext(opts.batchId), opts.format));
  }

  /** Exactly the events a search selects, with a signed trailer over their hashes (selection-export.ts). */
  exportSelection(opts: { format: ExportFormat; query: AuditSearch }): string {
    this.assertOpen();
    this.flushNow();
    const { station, key } = this.exportContext();
    return readingDamaged(this.file, () => exportSelection(this.db, { station, key }, opts.query, opts.format));
  }

  /** One CSV row per device the search selects, for a plant's MES. */
  exportDevices(query: AuditSearch = {}): string {
    this.assertOpen();
    this.flushNow();
    return readingDamaged(this.file, () => exportDevices(this.db, query));
  }

  /** Streams an export to a file (for big trails); resolves with the number of events written. */
  async exportToFile(opts: { format: ExportFormat; file: string; batchId?: string }): Promise<{ events: number }> {
    this.assertOpen();
    this.flushNow();
    return readingDamaged(this.file, () => exportToFile(this.db, this.exportContext(opts.batchId), opts.format, opts.file));
  }

  openBatch(opts: { workOrder: string; operator: string; offline?: boolean }): Promise<Batch> {
    return new Promise((resolve, reject) => {
      this.assertWritable();
      const workOrder = opts.workOrder?.trim();
      const operator = opts.operator?.trim();
      if (!workOrder) throw new AuditError('AUDIT_INVALID_BATCH', 'no work order');
      if (!operator) throw new AuditError('AUDIT_INVALID_BATCH', 'no operator');
      if (this.openBatchId) throw new AuditError('AUDIT_BATCH_ALREADY_OPEN', `batch ${this.openBatchId} is still open`);
      const batch: Batch = {
        id: uuidv7(),
        workOrder,
        operator,
        station: this.stationId,
        openedAt: new Date().toISOString(),
        offline: opts.offline ?? false,
      };
      this.openBatchId = batch.id;
      this.batchState.set(batch.id, 'open');
      this.enqueue({ kind: 'open', batch, resolve, reject });
    });
  }

  /** `offline`: some of its devices were registered offline (the signed summary then says so). */
  closeBatch(batchId: string, opts: { offline?: boolean } = {}): Promise<Batch> {
    return new Promise((resolve, reject) => {
      this.assertWritable();
      if (this.batchStateOf(batchId) === 'closed') throw new AuditError('AUDIT_BATCH_CLOSED', `batch ${batchId}`);
      this.batchState.set(batchId, 'closed');
      if (this.openBatchId === batchId) this.openBatchId = undefined;
      this.enqueue({ kind: 'close', batchId, ts: new Date().toISOString(), offline: opts.offline === true, resolve, reject });
    });
  }

  getBatch(id: string): Batch | undefined {
    const b = this.batches.get(id);
    return b && publicBatch(b);
  }

  currentBatch(): Batch | undefined {
    const b = this.batches.current();
    return b && publicBatch(b);
  }

  listBatches(): Batch[] {
    return this.batches.list().map(publicBatch);
  }

  /** Devices per hour and failures by code, from the one `record` event per device. */
  stats(q: { batchId?: string } = {}): {
    throughputPerHour: ThroughputHour[];
    failuresByCode: { code: string; count: number }[];
  } {
    // For a batch: the devices its signed summary counts (record events before its close).
    const closeSeq = q.batchId ? (this.batches.get(q.batchId)?.closeSeq ?? Number.MAX_SAFE_INTEGER) : 0;
    const where = q.batchId ? `step = '${RECORD_STEP}' AND batch_id = ? AND seq < ?` : `step = '${RECORD_STEP}'`;
    const args = q.batchId ? [q.batchId, closeSeq] : [];
    const hours = this.db
      .prepare(
        `SELECT substr(ts, 1, 13) || ':00:00.000Z' AS hour, sum(outcome = 'ok') AS passed, sum(outcome = 'fail') AS failed FROM events WHERE ${where} GROUP BY 1 ORDER BY 1`,
      )
      .all(...args) as ThroughputHour[];
    const failures = this.db
      .prepare(
        `SELECT coalesce(${ERROR_CODE}, 'UNKNOWN') AS code, count(*) AS count FROM events WHERE ${where} AND outcome = 'fail' GROUP BY 1 ORDER BY 2 DESC, 1`,
      )
      .all(...args) as { code: string; count: number }[];
    return { throughputPerHour: hours, failuresByCode: failures };
  }

  /**
   * The chain-head checkpoint as this writer keeps it: its file, how many times it was refreshed,
   * and `blocked` when the checkpoint is kept as evidence (the chain no longer reaches it).
   */
  anchorState(): { file: string; refreshes: number; blocked?: string } {
    return { file: this.checkpointFile, refreshes: this.checkpoints?.refreshes ?? 0, blocked: this.checkpoints?.blocked };
  }

  /** The station's public signing key (base64 SPKI) and its id. */
  publicKey(): { publicKey: string; keyId: string } {
    const k = this.signingKey();
    return { publicKey: k.publicKey, keyId: k.keyId };
  }

  /** Commits anything queued, brings the checkpoint to the head, then closes the database. */
  close(): void {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    try {
      this.bringCheckpointToHead();
    } finally {
      this.db.close();
      this.cleanupCopy();
    }
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private enqueue(job: Job): void {
    this.commits.add(job);
  }

  private flushNow(): void {
    this.commits.flushNow();
  }

  private commitJobs(jobs: Job[]): void {
    // Per job: the value it resolves with; refusals (rare) are kept apart. No per-event wrapper
    // objects on this hot path: garbage collection was a sixth of an append's CPU time.
    const values: unknown[] = new Array(jobs.length);
    let refusals: Map<number, AuditError> | undefined;
    const appended: AuditEvent[] = [];
    let headSeq = 0;
    let headHash = GENESIS_HASH;
    const rows = this.inserts;
    const put = (input: AuditEventInput, ts: string): AuditEvent => {
      const event = input as AuditEvent;
      event.hash = rows.add(headSeq + 1, sealBody(input, headSeq + 1, ts, headHash));
      headSeq = event.seq;
      headHash = event.hash;
      if (this.listeners.size > 0) appended.push(event);
      return event;
    };
    try {
      // IMMEDIATE: take the write lock first, then read the head, so another process appending to
      // the same file (e.g. `imprint batch open` beside a running station) cannot fork the chain.
      this.db
        .transaction(() => {
          const head = this.readHead();
          headSeq = head.seq;
          headHash = head.hash;
          const batchCheck = new Map<string, StoredBatch | undefined>();
          for (let i = 0; i < jobs.length; i++) {
            const job = jobs[i];
            try {
              this.checkJobAgainstDb(job, batchCheck);
              if (job.kind === 'event') values[i] = put(job.input, job.ts);
              else {
                // A batch's open and close read and write the events before them.
                rows.flush();
                values[i] = job.kind === 'open' ? this.writeOpen(job.batch, put) : this.writeClose(job, put);
                rows.flush();
              }
            } catch (e) {
              // Refusals are decided before anything is written for the job; anything else aborts all.
              if (!(e instanceof AuditError)) throw e;
              refusals ??= new Map();
              refusals.set(i, e);
            }
          }
          rows.flush();
        })
        .immediate();
    } catch (e) {
      rows.discard();
      this.reloadBatchState();
      const err = new AuditError('AUDIT_WRITE_FAILED', (e as Error).message, { cause: e });
      this.log.error({ err: (e as Error).message, events: jobs.length }, 'audit trail write failed');
      for (const job of jobs) job.reject(err);
      return;
    }
    if (refusals) this.reloadBatchState();
    // Once per commit, off the append path: the anchor that makes a cut end of the chain evident.
    if (headSeq > 0) this.checkpoints?.refresh({ seq: headSeq, hash: headHash });
    for (let i = 0; i < jobs.length; i++) {
      const refusal = refusals?.get(i);
      if (refusal) jobs[i].reject(refusal);
      else (jobs[i].resolve as (v: unknown) => void)(values[i]);
    }
    for (const e of appended)
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          // A listener's bug must not look like a failed append (the event is committed).
          this.log.error({ err: (err as Error).message }, 'audit listener failed');
        }
      }
  }

  /** A writer's checkpoint, written now (a refresh may still be in flight); verify reports a damaged file itself. */
  private bringCheckpointToHead(): void {
    if (!this.checkpoints) return;
    let head: { seq: number; hash: string };
    try {
      head = this.readHead();
    } catch (e) {
      if (isDamage(e)) return;
      throw e;
    }
    this.checkpoints.flushSync(head);
  }

  private verifyTarget(): DbVerifyTarget {
    this.bringCheckpointToHead();
    // Read before the walk: the checkpoint never runs ahead of the committed chain.
    const read = readCheckpointFile(this.checkpointFile);
    return {
      db: this.db,
      file: this.dbPath,
      batches: this.batches,
      checkpoint: { file: this.checkpointFile, read, required: this.schemaVersion >= CHECKPOINT_SCHEMA },
    };
  }

  private readHead(): { seq: number; hash: string } {
    const last = this.headStmt.get() as [number, string] | undefined;
    return last ? { seq: last[0], hash: last[1] } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Batch rules against the database itself (another process may have opened or closed a batch). */
  private checkJobAgainstDb(job: Job, cache: Map<string, StoredBatch | undefined>): void {
    if (job.kind === 'open') {
      const open = this.batches.current();
      if (open) throw new AuditError('AUDIT_BATCH_ALREADY_OPEN', `batch ${open.id} is still open`);
      cache.set(job.batch.id, { ...job.batch, openSeq: 0 });
      return;
    }
    const id = job.kind === 'close' ? job.batchId : job.input.batchId;
    if (id === undefined) return;
    // No closure here (this runs for every event): tsx names each closure it creates
    // (esbuild keepNames: an Object.defineProperty call), ~4 % of an append's CPU time.
    if (!cache.has(id)) cache.set(id, this.batches.get(id));
    const b = cache.get(id);
    if (!b) throw new AuditError('AUDIT_UNKNOWN_BATCH', `batch ${id}`);
    if (job.kind !== 'close') return;
    if (b.closedAt) throw new AuditError('AUDIT_BATCH_CLOSED', `batch ${id}`);
    cache.set(id, { ...b, closedAt: job.ts });
  }

  private writeOpen(batch: Batch, put: (i: AuditEventInput, ts: string) => AuditEvent): Batch {
    const event = put(
      {
        station: this.stationId,
        operator: batch.operator,
        batchId: batch.id,
        step: 'batch-open',
        outcome: 'info',
        data: { batch: identityOf(batch) },
      },
      batch.openedAt,
    );
    this.batches.insert(batch, event.seq);
    return batch;
  }

  private writeClose(
    job: { batchId: string; ts: string; offline: boolean },
    put: (i: AuditEventInput, ts: string) => AuditEvent,
  ): Batch {
    const { batchId, ts } = job;
    const stored = this.batches.get(batchId) as StoredBatch;
    const key = this.signingKey();
    const batch: Batch = { ...publicBatch(stored), closedAt: ts, offline: stored.offline || job.offline };
    // The summary covers every event of the batch appended before this close event.
    const summary = this.batches.computeSummary(batchId, stored.openSeq, Number.MAX_SAFE_INTEGER);
    const identity = identityOf(batch);
    const signature = key.sign(signedBatchText(identity, summary));
    const data: BatchCloseData = { batch: identity, summary, signature, signingKeyId: key.keyId, publicKey: key.publicKey };
    const event = put(
      {
        station: this.stationId,
        operator: stored.operator,
        batchId,
        step: 'batch-close',
        outcome: 'info',
        message: `${summary.passed} passed, ${summary.failed} failed`,
        data: data as unknown as Record<string, unknown>,
      },
      ts,
    );
    this.batches.markClosed({
      id: batchId,
      closedAt: ts,
      offline: batch.offline,
      summary,
      signature,
      signingKeyId: key.keyId,
      closeSeq: event.seq,
      publicKey: key.publicKey,
    });
    return { ...batch, summary, signature, signingKeyId: key.keyId };
  }

  private signingKey(): SigningKey {
    this.key ??= loadOrCreateSigningKey(this.keyDir);
    return this.key;
  }

  private assertOpen(): void {
    if (this.closed) throw new AuditError('AUDIT_CLOSED');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readonly) throw new AuditError('AUDIT_READONLY');
  }

  /** Open or closed (as of the queued jobs); throws AUDIT_UNKNOWN_BATCH for an id never opened. */
  private batchStateOf(batchId: string): 'open' | 'closed' {
    let state = this.batchState.get(batchId);
    if (state === undefined) {
      const b = this.batches.get(batchId);
      if (!b) throw new AuditError('AUDIT_UNKNOWN_BATCH', `batch ${batchId}`);
      state = b.closedAt ? 'closed' : 'open';
      this.batchState.set(batchId, state);
    }
    return state;
  }

  private reloadBatchState(): void {
    this.batchState.clear();
    this.openBatchId = this.batches.current()?.id;
  }

  private exportContext(batchId?: string) {
    let range = { from: 1, to: Number.MAX_SAFE_INTEGER };
    if (batchId) {
      const b = this.batches.get(batchId);
      if (!b) throw new AuditError('AUDIT_UNKNOWN_BATCH', `batch ${batchId}`);
      range = { from: b.openSeq, to: b.closeSeq ?? Number.MAX_SAFE_INTEGER };
    }
    // Read-only (e.g. the CLI on a copied database): the key must be there, never created.
    const key = this.readonly ? tryLoadSigningKey(this.keyDir) : this.signingKey();
    if (!key) throw new AuditError('AUDIT_NO_SIGNING_KEY', `none in ${this.keyDir}: an export must be signed`);
    // The header names the station that wrote the events, not whoever exports them.
    const writer = this.db.prepare('SELECT station FROM events WHERE seq >= ? ORDER BY seq LIMIT 1').pluck().get(range.from) as
      | string
      | undefined;
    return {
      station: writer ?? this.stationId,
      key,
      batchId,
      ...range,
      to: Math.min(range.to, this.readHead().seq),
    };
  }
}
