-- The registration limit needs each realm's number of registered devices on every new registration:
-- keep it up to date with triggers (O(1) to read, right even when another process writes).
CREATE TABLE realm_device_counts (
  realm TEXT PRIMARY KEY,
  registered INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO realm_device_counts (realm, registered)
SELECT r.name, (SELECT count(*) FROM devices d WHERE d.realm = r.name AND d.secret_hash IS NOT NULL)
FROM realms r;

CREATE TRIGGER realms_count_row AFTER INSERT ON realms
BEGIN
  INSERT OR IGNORE INTO realm_device_counts (realm, registered) VALUES (NEW.name, 0);
END;

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices WHEN NEW.secret_hash IS NOT NULL
BEGIN
  UPDATE realm_device_counts SET registered = registered + 1 WHERE realm = NEW.realm;
END;

CREATE TRIGGER devices_count_delete AFTER DELETE ON devices WHEN OLD.secret_hash IS NOT NULL
BEGIN
  UPDATE realm_device_counts SET registered = registered - 1 WHERE realm = OLD.realm;
END;

CREATE TRIGGER devices_count_update AFTER UPDATE OF secret_hash ON devices
WHEN (OLD.secret_hash IS NULL) <> (NEW.secret_hash IS NULL)
BEGIN
  UPDATE realm_device_counts
  SET registered = registered + (CASE WHEN NEW.secret_hash IS NULL THEN -1 ELSE 1 END)
  WHERE realm = NEW.realm;
END;

DROP INDEX devices_registered;
