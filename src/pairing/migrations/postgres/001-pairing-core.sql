-- The pairing core on PostgreSQL: the same rows as the SQLite store (timestamps are the domain's
-- ISO 8601 UTC strings, kept verbatim so a copied store is byte-identical), plus what many
-- instances need to agree: realm limits enforced by the database, and the fleet's CA recorded.

CREATE TABLE realms (
  name text PRIMARY KEY,
  public_key_pem text NOT NULL,
  broker_url text NOT NULL,
  device_registration_limit bigint CHECK (device_registration_limit >= 0),
  device_id_namespace text NOT NULL,
  factory text,
  created_at text NOT NULL
);

-- A device row survives unregistration (its secret is cleared), as in Astarte. No foreign key to
-- realms: every insert would lock the realm's row (FOR KEY SHARE), one hot row for every
-- registration of the realm; realms are never deleted and the core checks the realm first.
CREATE TABLE devices (
  realm text NOT NULL,
  device_id text NOT NULL,
  -- Self-describing hash (docs/secret-hash.md); NULL when not registered. Never the secret.
  secret_hash text,
  inhibited boolean NOT NULL DEFAULT false,
  first_registration_at text,
  last_registration_at text,
  first_credentials_request_at text,
  last_credentials_request_at text,
  certificate_serial text,
  certificate_not_after text,
  initial_introspection text,
  PRIMARY KEY (realm, device_id)
) WITH (fillfactor = 80); -- room on each page: re-registrations and credentials update in place (HOT)

-- Realms with a registration limit only: the count of their device rows, and the limit as a
-- constraint. Inserting a new device bumps the count under the row's lock, so concurrent
-- registrations on any instance serialize here and the limit holds exactly; realms without a limit
-- have no row and no such hot spot.
CREATE TABLE realm_device_limits (
  realm text PRIMARY KEY REFERENCES realms (name),
  device_limit bigint NOT NULL,
  devices bigint NOT NULL,
  CONSTRAINT realm_device_limit_reached CHECK (devices <= device_limit)
);

CREATE FUNCTION imprint_realm_limit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.device_registration_limit IS NOT NULL THEN
    INSERT INTO realm_device_limits (realm, device_limit, devices)
    VALUES (NEW.name, NEW.device_registration_limit, (SELECT count(*) FROM devices WHERE realm = NEW.name));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER realms_limit_row AFTER INSERT ON realms FOR EACH ROW EXECUTE FUNCTION imprint_realm_limit_row();

CREATE FUNCTION imprint_count_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE realm_device_limits SET devices = devices + 1 WHERE realm = NEW.realm;
  RETURN NULL;
END $$;

CREATE TRIGGER devices_count AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION imprint_count_device();

-- Every certificate the CA issued, and its revocation (feeds the CRL and REVOKED on verify).
CREATE TABLE certificates (
  serial text PRIMARY KEY,
  realm text NOT NULL,
  device_id text NOT NULL,
  issued_at text NOT NULL,
  not_after text NOT NULL,
  revoked_at text,
  revocation_reason text
);

CREATE INDEX certificates_revoked ON certificates (revoked_at, serial) WHERE revoked_at IS NOT NULL;

-- Fleet claim tokens: the token itself is never stored (it is a signed JWT; its id is enough).
CREATE TABLE claim_tokens (
  jti text PRIMARY KEY,
  realm text NOT NULL REFERENCES realms (name),
  created_at text NOT NULL,
  expires_at text NOT NULL,
  max_uses bigint,
  uses bigint NOT NULL DEFAULT 0,
  serial_pattern text,
  batch text,
  revoked_at text
) WITH (fillfactor = 80);

CREATE INDEX claim_tokens_realm ON claim_tokens (realm, created_at);

CREATE TABLE claims (
  realm text NOT NULL REFERENCES realms (name),
  manufacturer_id text NOT NULL,
  device_id text NOT NULL,
  jti text NOT NULL REFERENCES claim_tokens (jti),
  claimed_at text NOT NULL,
  PRIMARY KEY (realm, manufacturer_id)
);

-- Foundries-compatible /sign: one record per device UUID.
CREATE TABLE sign_registrations (
  realm text NOT NULL REFERENCES realms (name),
  uuid text NOT NULL,
  device_id text NOT NULL,
  name text,
  hardware_id text,
  certificate_serial text NOT NULL,
  public_key_sha256 text NOT NULL,
  signed_at text NOT NULL,
  signings bigint NOT NULL DEFAULT 1,
  state text NOT NULL CHECK (state IN ('signed', 'reopened')),
  reopened_at text,
  PRIMARY KEY (realm, uuid)
);

-- Offline batches: what stations imported (the latest outcome per station and device).
CREATE TABLE device_imports (
  realm text NOT NULL REFERENCES realms (name),
  station text NOT NULL,
  device_id text NOT NULL,
  batch text NOT NULL,
  operator text,
  hardware_serial text,
  registered_at text NOT NULL,
  secret_hash text NOT NULL,
  result text NOT NULL,
  reason text,
  first_seen_at text NOT NULL,
  PRIMARY KEY (realm, station, device_id)
);

CREATE INDEX device_imports_result ON device_imports (realm, result);

-- The central audit: every station's chain, exactly as the station chained it.
CREATE TABLE central_audit_events (
  realm text NOT NULL REFERENCES realms (name),
  station text NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  body text NOT NULL,
  ts text NOT NULL,
  device_id text,
  hardware_serial text,
  batch_id text,
  operator text,
  step text NOT NULL,
  outcome text NOT NULL,
  PRIMARY KEY (realm, station, seq)
);

CREATE INDEX central_audit_device ON central_audit_events (realm, device_id);
CREATE INDEX central_audit_batch ON central_audit_events (realm, batch_id);
CREATE INDEX central_audit_ts ON central_audit_events (realm, ts);

CREATE TABLE central_audit_heads (
  realm text NOT NULL REFERENCES realms (name),
  station text NOT NULL,
  last_seq bigint NOT NULL,
  last_hash text NOT NULL,
  updated_at text NOT NULL,
  PRIMARY KEY (realm, station)
);

-- The core's own audit events (claims, claim tokens, /sign): one hash chain, as station
-- "pairing-core", appended by whichever instance handled the request, under the head row's lock.
CREATE TABLE core_audit_events (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  body text NOT NULL,
  ts text NOT NULL,
  device_id text,
  hardware_serial text,
  operator text,
  step text NOT NULL,
  outcome text NOT NULL
);

CREATE INDEX core_audit_device ON core_audit_events (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE core_audit_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq bigint NOT NULL,
  last_hash text NOT NULL
);

CREATE FUNCTION imprint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME;
END $$;

CREATE TRIGGER central_audit_append_only BEFORE UPDATE OR DELETE ON central_audit_events
  FOR EACH ROW EXECUTE FUNCTION imprint_append_only();
CREATE TRIGGER core_audit_append_only BEFORE UPDATE OR DELETE ON core_audit_events
  FOR EACH ROW EXECUTE FUNCTION imprint_append_only();

-- The keys every instance must use (fingerprints only, never a private key): the CA certificate,
-- the claim-signing key. An instance started with other keys refuses to serve, instead of issuing
-- certificates or accepting claim tokens the rest of the fleet does not know.
CREATE TABLE fleet_keys (
  name text PRIMARY KEY,
  sha256 text NOT NULL,
  recorded_at text NOT NULL
);
