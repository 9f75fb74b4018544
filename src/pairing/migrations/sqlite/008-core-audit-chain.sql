-- The core's own audit chain (claims, claim tokens, /sign; station "pairing-core") in the pairing
-- database itself, sealed in the same transaction as the write it records: one durable commit per
-- request instead of a second database (<data>/audit.db) with its own commit and checkpoint file.
-- The same rows as PostgreSQL's core_audit_events (`body`: the canonical body the hash covers).
-- Events an earlier version appended to <data>/audit.db are carried over, verified, when the store
-- first opens at this version (store/sqlite-core-audit.ts); the chain continues from them.
CREATE TABLE core_audit_events (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  ts TEXT NOT NULL,
  device_id TEXT,
  hardware_serial TEXT,
  operator TEXT,
  step TEXT NOT NULL,
  outcome TEXT NOT NULL
);

CREATE INDEX core_audit_device ON core_audit_events (device_id) WHERE device_id IS NOT NULL;

-- The chain's head (one row): the next event links to last_hash. Absent until the carry-over ran.
CREATE TABLE core_audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  -- Where the chain's first events came from: 'new', or 'audit.db' (carried over, up to carried_up_to).
  origin TEXT NOT NULL,
  carried_up_to INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER core_audit_no_update BEFORE UPDATE ON core_audit_events
BEGIN
  SELECT RAISE(ABORT, 'core_audit_events rows are append-only');
END;

CREATE TRIGGER core_audit_no_delete BEFORE DELETE ON core_audit_events
BEGIN
  SELECT RAISE(ABORT, 'core_audit_events rows are append-only');
END;
