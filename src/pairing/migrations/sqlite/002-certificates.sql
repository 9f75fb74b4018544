-- Every certificate the CA issued, and its revocation (feeds the CRL and REVOKED on verify).
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  realm TEXT NOT NULL,
  device_id TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  not_after TEXT NOT NULL,
  revoked_at TEXT,
  revocation_reason TEXT
) WITHOUT ROWID;

CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;

-- Counting a realm's registered devices (registration limit) without scanning secrets.
CREATE INDEX devices_registered ON devices (realm) WHERE secret_hash IS NOT NULL;
