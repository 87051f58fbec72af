-- Triggers checks_revision_insert, _update, _delete (on checks, once a
-- statement: sql/041_checks_statement_triggers.sql): any change to an
-- agent's checks bumps its revision, the ETag of GET
-- /api/v1/agent/self/checks, so agents download them again only on a
-- change. Once per agent and statement, however many of its checks the
-- statement wrote (a revision only has to move).
CREATE OR REPLACE FUNCTION checks_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE agents SET checks_revision = checks_revision + 1
		WHERE id IN (SELECT agent_id FROM new_checks);
	ELSIF TG_OP = 'UPDATE' THEN
		UPDATE agents SET checks_revision = checks_revision + 1
		WHERE id IN (SELECT agent_id FROM old_checks UNION SELECT agent_id FROM new_checks);
	ELSE
		UPDATE agents SET checks_revision = checks_revision + 1
		WHERE id IN (SELECT agent_id FROM old_checks);
	END IF;
	RETURN NULL;
END $$;
