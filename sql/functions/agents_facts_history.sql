-- Triggers agents_facts_insert and agents_facts_update (on agents): one row
-- of agent_facts_history each time an agent's facts change (a checkout
-- whose facts differ from the last ones, or the first facts of an agent).
CREATE OR REPLACE FUNCTION agents_facts_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO agent_facts_history (agent_id, facts) VALUES (NEW.id, NEW.facts);
	RETURN NULL;
END $$;
