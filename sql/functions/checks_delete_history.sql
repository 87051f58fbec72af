-- Trigger checks_history (on checks, once a statement: the deleted checks,
-- sql/041_checks_statement_triggers.sql): deleting checks deletes their
-- history and roll-ups (check_history has no foreign key: ingest verifies
-- every check, and a per-row RI check would cost more than the insert).
-- The ids as one array: an index probe each, in every partition, whether
-- the statement deleted one check or ten thousand.
CREATE OR REPLACE FUNCTION checks_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[] := ARRAY(SELECT id FROM old_checks);
BEGIN
	IF ids = '{}' THEN
		RETURN NULL;
	END IF;
	DELETE FROM check_history WHERE check_id = ANY (ids);
	DELETE FROM rollup_minute WHERE check_id = ANY (ids);
	DELETE FROM rollup_hour WHERE check_id = ANY (ids);
	DELETE FROM rollup_day WHERE check_id = ANY (ids);
	RETURN NULL;
END $$;
