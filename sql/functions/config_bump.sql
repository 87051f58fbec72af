-- The trigger function of the configuration's version (sql/025_config.sql:
-- config_version, and the row triggers on agents, checks, contacts and
-- downtimes): one bump a transaction, whatever the rows it changes (the
-- xact test; a 10,000-check apply writes the row once, not 10,000 times).
-- changed_by: custos.actor, which POST /api/v1/config sets (SET LOCAL) to
-- who applied; NULL after a change through the ordinary routes.
CREATE OR REPLACE FUNCTION config_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE config_version SET version = version + 1, changed_at = now(),
		changed_by = NULLIF(current_setting('custos.actor', true), ''),
		xact = pg_current_xact_id()
	WHERE xact IS DISTINCT FROM pg_current_xact_id();
	RETURN NULL;
END $$;
