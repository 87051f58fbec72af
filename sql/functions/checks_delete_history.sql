-- Trigger checks_history (on checks): deleting a check deletes its history
-- and its roll-ups (check_history has no foreign key: ingest verifies every
-- check, and a per-row RI check would cost more than the insert).
CREATE OR REPLACE FUNCTION checks_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM check_history WHERE check_id = OLD.id;
	DELETE FROM rollup_minute WHERE check_id = OLD.id;
	DELETE FROM rollup_hour WHERE check_id = OLD.id;
	DELETE FROM rollup_day WHERE check_id = OLD.id;
	RETURN NULL;
END $$;
