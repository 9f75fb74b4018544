-- Offline batches (issue 6): what stations imported (one row per station and device, the latest
-- outcome, for QA) and the central audit store (every station's chain, verified on arrival).
CREATE TABLE device_imports (
  realm TEXT NOT NULL REFERENCES realms (name),
  station TEXT NOT NULL,
  device_id TEXT NOT NULL,
  batch TEXT NOT NULL,
  operator TEXT,
  hardware_serial TEXT,
  registered_at TEXT NOT NULL,
  -- The hash this station sent last (a hash, never a secret): a re-registration by the same station
  -- while still offline replaces its own earlier import, not another station's registration.
  secret_hash TEXT NOT NULL,
  -- imported | already_present | conflict
  result TEXT NOT NULL,
  reason TEXT,
  first_seen_at TEXT NOT NULL,
  PRIMARY KEY (realm, station, device_id)
) WITHOUT ROWID;

CREATE INDEX device_imports_result ON device_imports (realm, result);

-- One row per station event, exactly as the station chained it (`body` is the canonical body the
-- hash covers). The query columns are filled from the same event the body was made from, on arrival.
CREATE TABLE central_audit_events (
  realm TEXT NOT NULL REFERENCES realms (name),
  station TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  ts TEXT NOT NULL,
  device_id TEXT,
  hardware_serial TEXT,
  batch_id TEXT,
  operator TEXT,
  step TEXT NOT NULL,
  outcome TEXT NOT NULL,
  PRIMARY KEY (realm, station, seq)
) WITHOUT ROWID;

CREATE INDEX central_audit_device ON central_audit_events (realm, device_id);
CREATE INDEX central_audit_batch ON central_audit_events (realm, batch_id);
CREATE INDEX central_audit_ts ON central_audit_events (realm, ts);

-- The head of each station's chain as received: the next import must link to it.
CREATE TABLE central_audit_heads (
  realm TEXT NOT NULL REFERENCES realms (name),
  station TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (realm, station)
) WITHOUT ROWID;

CREATE TRIGGER central_audit_no_update BEFORE UPDATE ON central_audit_events
BEGIN
  SELECT RAISE(ABORT, 'central audit events are append-only');
END;
