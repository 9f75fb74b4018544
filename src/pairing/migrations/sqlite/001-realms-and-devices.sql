-- Realms and their devices. A device row survives unregistration (its secret is cleared), as in Astarte.
CREATE TABLE realms (
  name TEXT PRIMARY KEY,
  public_key_pem TEXT NOT NULL,
  broker_url TEXT NOT NULL,
  device_registration_limit INTEGER,
  device_id_namespace TEXT NOT NULL,
  factory TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE devices (
  realm TEXT NOT NULL REFERENCES realms (name),
  device_id TEXT NOT NULL,
  -- Self-describing hash (docs/secret-hash.md); NULL when not registered. Never the secret.
  secret_hash TEXT,
  inhibited INTEGER NOT NULL DEFAULT 0,
  first_registration_at TEXT,
  last_registration_at TEXT,
  first_credentials_request_at TEXT,
  last_credentials_request_at TEXT,
  certificate_serial TEXT,
  certificate_not_after TEXT,
  initial_introspection TEXT,
  PRIMARY KEY (realm, device_id)
) WITHOUT ROWID;

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
