-- Fleet claim tokens (issue 7): the tokens plant IT minted, their uses and revocation, and every
-- claimed manufacturer id. The token itself is never stored (it is a signed JWT; its id is enough).
CREATE TABLE claim_tokens (
  jti TEXT PRIMARY KEY,
  realm TEXT NOT NULL REFERENCES realms (name),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  max_uses INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  serial_pattern TEXT,
  batch TEXT,
  revoked_at TEXT
) WITHOUT ROWID;

CREATE INDEX claim_tokens_realm ON claim_tokens (realm, created_at);

CREATE TABLE claims (
  realm TEXT NOT NULL REFERENCES realms (name),
  manufacturer_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  jti TEXT NOT NULL REFERENCES claim_tokens (jti),
  claimed_at TEXT NOT NULL,
  PRIMARY KEY (realm, manufacturer_id)
) WITHOUT ROWID;

-- Foundries-compatible /sign: one record per device UUID (the reference server keeps one overwritten
-- file). `state` is signed, or reopened by an operator (then one more /sign is allowed).
CREATE TABLE sign_registrations (
  realm TEXT NOT NULL REFERENCES realms (name),
  uuid TEXT NOT NULL,
  device_id TEXT NOT NULL,
  name TEXT,
  hardware_id TEXT,
  certificate_serial TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  signed_at TEXT NOT NULL,
  signings INTEGER NOT NULL DEFAULT 1,
  state TEXT NOT NULL CHECK (state IN ('signed', 'reopened')),
  reopened_at TEXT,
  PRIMARY KEY (realm, uuid)
) WITHOUT ROWID;
