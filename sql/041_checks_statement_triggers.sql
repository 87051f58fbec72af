-- 041_checks_statement_triggers.sql - the checks' bookkeeping triggers
-- once a statement, not once a row.
--
-- An apply or a template writes thousands of checks in one statement
-- (POST /api/v1/config, template_sync()). Row by row, the agent's
-- revision was bumped once per check (100 checks of one agent: 100 new
-- versions of the same agents row, each UPDATE walking the ones before),
-- and a deleted check's history, roll-ups and place in parents lists were
-- deleted one check at a time: most of an apply's time (bench/apply).
-- These triggers see the statement's rows at once (transition tables) and
-- do each of those as one statement; the bodies are in sql/functions/
-- (checks_bump_revision.sql, checks_create_state.sql,
-- checks_delete_history.sql, checks_drop_parent.sql). A statement that
-- touches no check still fires them: with empty tables they change nothing.
-- checks_state_agent (a check moved to another agent) stays a row trigger.
DROP TRIGGER checks_revision ON checks;
CREATE TRIGGER checks_revision_insert AFTER INSERT ON checks
	REFERENCING NEW TABLE AS new_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_bump_revision();
CREATE TRIGGER checks_revision_update AFTER UPDATE ON checks
	REFERENCING OLD TABLE AS old_checks NEW TABLE AS new_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_bump_revision();
CREATE TRIGGER checks_revision_delete AFTER DELETE ON checks
	REFERENCING OLD TABLE AS old_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_bump_revision();

DROP TRIGGER checks_state ON checks;
CREATE TRIGGER checks_state AFTER INSERT ON checks
	REFERENCING NEW TABLE AS new_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_create_state();

DROP TRIGGER checks_history ON checks;
CREATE TRIGGER checks_history AFTER DELETE ON checks
	REFERENCING OLD TABLE AS old_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_delete_history();

DROP TRIGGER checks_drop_parent ON checks;
CREATE TRIGGER checks_drop_parent AFTER DELETE ON checks
	REFERENCING OLD TABLE AS old_checks
	FOR EACH STATEMENT EXECUTE FUNCTION checks_drop_parent();
