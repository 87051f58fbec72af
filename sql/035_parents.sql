-- 035_parents.sql - dependencies (docs/alerting.md, "Dependencies").
--
-- A check's parents are checks it depends on (a switch, an uplink): while
-- one of them is a HARD problem, the check's own events are recorded but
-- not notified (suppressed; check_parents_down()). An agent's parents are
-- those of every check of the agent and of its AGENT DOWN. Ids, as the
-- contacts columns are; the API, the CLI and the YAML name them
-- "agent/check" (parents_resolve(), check_parent_names()). No cycles and no
-- self-reference: refused when set (parents_resolve()), so a walk up the
-- parents always ends.
ALTER TABLE checks ADD COLUMN parents bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN parents bigint[] NOT NULL DEFAULT '{}';

-- "who depends on check P": the dependents count of P's notification and
-- the children told when P recovers; a probe by P's id (parents <> '{}'
-- AND parents @> ARRAY[P]). Partial: most lists are empty, and a query
-- that says so is planned on the few that are not - without it the planner
-- guesses that 0.5 % of all checks contain any id and, for an EXISTS,
-- prefers to scan the table, all of it when none does.
CREATE INDEX checks_parents_idx ON checks USING gin (parents) WHERE parents <> '{}';
CREATE INDEX agents_parents_idx ON agents USING gin (parents) WHERE parents <> '{}';

-- a deleted check stops being anybody's parent (an array has no foreign
-- key); a stand-in for the trigger: the body is
-- sql/functions/checks_drop_parent.sql
CREATE FUNCTION checks_drop_parent() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER checks_drop_parent AFTER DELETE ON checks
	FOR EACH ROW EXECUTE FUNCTION checks_drop_parent();
