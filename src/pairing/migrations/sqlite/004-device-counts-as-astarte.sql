-- Astarte's registration limit counts every device row of the realm, unregistered ones included
-- (a known device may always register again; only new devices need a place). Count rows.
DROP TRIGGER devices_count_insert;
DROP TRIGGER devices_count_delete;
DROP TRIGGER devices_count_update;

ALTER TABLE realm_device_counts RENAME COLUMN registered TO devices;

UPDATE realm_device_counts
SET devices = (SELECT count(*) FROM devices d WHERE d.realm = realm_device_counts.realm);

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices
BEGIN
  UPDATE realm_device_counts SET devices = devices + 1 WHERE realm = NEW.realm;
END;

CREATE TRIGGER devices_count_delete AFTER DELETE ON devices
BEGIN
  UPDATE realm_device_counts SET devices = devices - 1 WHERE realm = OLD.realm;
END;
