// The audit database schema as numbered migrations, applied in order (PRAGMA user_version).
import type { Database } from 'better-sqlite3';
import { inlineMigrations, type Migration } from '../db/migrations.ts';
import { checkSqliteSchema, migrateSqlite } from '../db/sqlite.ts';
import { AuditError } from './audit-errors.ts';

// `entry` = `["<hash>",<canonical body>]` (chain-link.ts packEntry): verify reads one column per
// row. The query columns are generated from it, so they can never disagree with what the hash
// covers, and they carry the indexes. ENTRY_HASH is the event's hash in SQL.
const gen = (col: string, field: string, type = 'TEXT') =>
  `${col} ${type} GENERATED ALWAYS AS (json_extract(entry, '$[1].${field}')) VIRTUAL`;

export const ENTRY_HASH = 'substr(entry, 3, 64)';

/**
 * A record event's error code in SQL (from schema v5 on it is no column: see migration 5). Queries
 * spell it exactly so, so that SQLite reads it from the events_batch_record index.
 */
export const ERROR_CODE = "json_extract(entry, '$[1].errorCode')";

export const MIGRATIONS: readonly string[] = [
  // 1: events, batches, append-only guards, indexes.
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    entry TEXT NOT NULL,
    hash TEXT GENERATED ALWAYS AS (substr(entry, 3, 64)) VIRTUAL,
    body TEXT GENERATED ALWAYS AS (substr(entry, 69, length(entry) - 69)) VIRTUAL,
    ${gen('ts', 'ts')},
    ${gen('station', 'station')},
    ${gen('operator', 'operator')},
    ${gen('batch_id', 'batchId')},
    ${gen('device_id', 'deviceId')},
    ${gen('hardware_serial', 'hardwareSerial')},
    ${gen('step', 'step')},
    ${gen('outcome', 'outcome')},
    ${gen('error_code', 'errorCode')}
  );
  CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
  CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
  CREATE INDEX events_device ON events(device_id, seq) WHERE device_id IS NOT NULL;
  CREATE INDEX events_serial ON events(hardware_serial, seq) WHERE hardware_serial IS NOT NULL;
  CREATE INDEX events_batch ON events(batch_id, seq) WHERE batch_id IS NOT NULL;
  CREATE INDEX events_operator ON events(operator, seq) WHERE operator IS NOT NULL;
  CREATE INDEX events_station ON events(station, seq);
  CREATE INDEX events_outcome ON events(outcome, seq);
  CREATE INDEX events_step ON events(step, seq);
  CREATE INDEX events_ts ON events(ts);
  -- Batch counts without touching the bodies: covers the summary query of closeBatch and verify.
  CREATE INDEX events_batch_record ON events(batch_id, outcome, error_code) WHERE step = 'record';

  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    work_order TEXT NOT NULL,
    operator TEXT NOT NULL,
    station TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    offline INTEGER NOT NULL DEFAULT 0,
    open_seq INTEGER NOT NULL,
    close_seq INTEGER,
    summary TEXT,
    signature TEXT,
    signing_key_id TEXT,
    public_key TEXT
  );
  CREATE INDEX batches_open ON batches(closed_at) WHERE closed_at IS NULL;
  CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches BEGIN SELECT RAISE(ABORT, 'batches are append-only'); END;
  `,
  // 2: SQLite computes every generated column of a row on INSERT, indexed or not: the unindexed
  // `hash` and `body` cost about 5% of an append. They move to a view (same names, same values).
  `
  ALTER TABLE events DROP COLUMN body;
  ALTER TABLE events DROP COLUMN hash;
  CREATE VIEW events_text AS
    SELECT seq, substr(entry, 3, 64) AS hash, substr(entry, 69, length(entry) - 69) AS body FROM events;
  `,
  // 3: no table change. From this version on the trail keeps its signed chain-head checkpoint
  // outside the file (<dir>/audit.head), and verify requires it once the trail has events.
  `SELECT 1;`,
  // 4: device id, serial and operator indexed without case (same (column, seq) shape, same
  // names): QA finds by the start of any of them without a table scan (audit-page-query.ts), and
  // exact filters still compare exactly. Rebuilt in place: no extra index to update per append.
  `
  DROP INDEX events_device;
  DROP INDEX events_serial;
  DROP INDEX events_operator;
  CREATE INDEX events_device ON events(device_id COLLATE NOCASE, seq) WHERE device_id IS NOT NULL;
  CREATE INDEX events_serial ON events(hardware_serial COLLATE NOCASE, seq) WHERE hardware_serial IS NOT NULL;
  CREATE INDEX events_operator ON events(operator COLLATE NOCASE, seq) WHERE operator IS NOT NULL;
  `,
  // 5: SQLite computes every generated column of every inserted row: error_code, read only from
  // the record events' index, cost one json_extract per append (~1,900 of ~47,000 instructions
  // an append spends in SQLite). The index now holds the expression itself, computed for record
  // events only (one in eight on a line); the column goes (virtual: no table rewrite).
  `
  DROP INDEX events_batch_record;
  ALTER TABLE events DROP COLUMN error_code;
  CREATE INDEX events_batch_record ON events(batch_id, outcome, ${ERROR_CODE}) WHERE step = 'record';
  `,
];

/** The first schema whose trails keep a chain-head checkpoint (verify then requires it). */
export const CHECKPOINT_SCHEMA = 3;

/** The migrations as src/db applies them (numbered, version re-read inside each IMMEDIATE transaction). */
export const AUDIT_MIGRATIONS: readonly Migration[] = inlineMigrations('audit trail', MIGRATIONS);

/** Brings a writer's trail to the latest schema; refuses one written by a newer Imprint. Returns the version found. */
export function migrate(db: Database): number {
  const found = checkSqliteSchema(db, AUDIT_MIGRATIONS, 'audit trail');
  migrateSqlite(db, AUDIT_MIGRATIONS, 'audit trail');
  return found;
}

/** The schema version of a trail opened to read, after checking this Imprint can read it (no migration). */
export function checkSchemaVersion(db: Database): number {
  const current = checkSqliteSchema(db, AUDIT_MIGRATIONS, 'audit trail');
  if (current === 0) throw new AuditError('AUDIT_OPEN_FAILED', 'this database is not an Imprint audit trail (no schema)');
  return current;
}
