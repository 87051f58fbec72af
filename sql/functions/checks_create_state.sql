-- Triggers checks_state (on checks, once a statement: the new checks,
-- sql/041_checks_statement_triggers.sql) and checks_state_agent (a row):
-- a new check gets its check_state row; a check moved to another agent
-- takes the agent's id along (check_state.agent_id, ingest's steady test).
-- A check moved, enabled or disabled, or made another type (sql/042) forgets
-- its stored flap window: a disabled check's results are stored without
-- the engine, a heartbeat's by serverd's own watcher (docs/decisions.md,
-- "check_state keeps the flap window").
CREATE OR REPLACE FUNCTION checks_create_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN
		INSERT INTO check_state (check_id, agent_id) SELECT id, agent_id FROM new_checks;
	ELSE
		UPDATE check_state SET agent_id = NEW.agent_id, flap_window = NULL, flap_from = NULL,
		  flap_last = NULL WHERE check_id = NEW.id;
	END IF;
	RETURN NULL;
END $$;
