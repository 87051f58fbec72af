-- Triggers checks_state (on checks, once a statement: the new checks,
-- sql/041_checks_statement_triggers.sql) and checks_state_agent (a row):
-- a new check gets its check_state row; a check moved to another agent
-- takes the agent's id along (check_state.agent_id, ingest's steady test).
CREATE OR REPLACE FUNCTION checks_create_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN
		INSERT INTO check_state (check_id, agent_id) SELECT id, agent_id FROM new_checks;
	ELSE
		UPDATE check_state SET agent_id = NEW.agent_id WHERE check_id = NEW.id;
	END IF;
	RETURN NULL;
END $$;
