-- Enrolled stations (issue 12): plant IT binds a station id to the station's Ed25519 batch-signing key.
-- Imports are accepted only from enrolled stations, and only chains whose batch summaries verify under
-- this key. `verified_up_to`: the seq up to which the central copy of the station's chain was accepted
-- under this key (events stored before enrolment were not checked against it).
CREATE TABLE enrolled_stations (
  realm TEXT NOT NULL REFERENCES realms (name),
  station TEXT NOT NULL,
  -- Base64 of the DER SubjectPublicKeyInfo, as batch-close events embed it.
  public_key TEXT NOT NULL,
  key_id TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  verified_up_to INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, station)
) WITHOUT ROWID;
