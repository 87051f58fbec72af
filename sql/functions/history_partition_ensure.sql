-- Makes the partition of day d (UTC) unless it exists, and history_tops()
-- again with it; true when it made it. Creators serialise on an advisory
-- lock (class "hist"); one that loses a race with another instance anyway
-- sees duplicate_table and returns false. Called by the history thread
-- ahead of time and by history_admit() for a past day, before an insert.
CREATE OR REPLACE FUNCTION history_partition_ensure(d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	part text := history_partition_name(d);
BEGIN
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	PERFORM pg_advisory_xact_lock(1751741300, 1);
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	BEGIN
		EXECUTE format('CREATE TABLE %I PARTITION OF check_history FOR VALUES FROM (%L) TO (%L)',
			part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	EXCEPTION WHEN duplicate_table OR unique_violation THEN
		RETURN false;
	END;
	PERFORM history_tops_make();
	RETURN true;
END $$;
