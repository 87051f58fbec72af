-- Trigger checks_revision (on checks): any change to an agent's checks
-- bumps its revision, the ETag of GET /api/v1/agent/self/checks, so agents
-- download them again only on a change.
CREATE OR REPLACE FUNCTION checks_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE agents SET checks_revision = checks_revision + 1 WHERE id = OLD.agent_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.agent_id <> OLD.agent_id) THEN
		UPDATE agents SET checks_revision = checks_revision + 1 WHERE id = NEW.agent_id;
	END IF;
	RETURN NULL;
END $$;
