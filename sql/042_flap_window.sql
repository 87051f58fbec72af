-- 042_flap_window.sql - check_state keeps a check's flap window while it
-- is known to be whole.
--
-- Ingest used to re-read the newest 21 results of every check in motion
-- (ingest_checks_recent()) to rebuild its flap window; a flapping check is
-- in motion on every result, so a churning fleet paid that read on every
-- batch (bench/README.md, "Churn: what a state change costs"). Now the
-- write-back stores the window with the state:
--   flap_window  the status digits of the check's newest <= 21 evaluated
--                results, oldest first (what ingest_checks_recent() gives
--                as "flap"), or NULL: not known, read the history
--   flap_from    a bound at or below the oldest of them (the window is
--                used only while it is within the two days the read looks at)
--   flap_last    the newest of them (its observed_at: ingest's late test)
-- valid only while every result stored for the check since went through the
-- engine, in the order the history holds them (docs/decisions.md, "check_state
-- keeps the flap window"; the writes that keep it right or drop it are
-- listed there). The functions that read and write it are in sql/functions/
-- (check_state_write.sql, ingest_checks_recent.sql, checks_create_state.sql).
ALTER TABLE check_state ADD COLUMN flap_window text,
	ADD COLUMN flap_from timestamptz, ADD COLUMN flap_last timestamptz;

-- A check enabled or disabled (a disabled check's results are history
-- only), made another type or moved to another agent forgets its window:
-- checks_create_state() clears it with the agent's id.
DROP TRIGGER checks_state_agent ON checks;
CREATE TRIGGER checks_state_agent AFTER UPDATE OF agent_id, enabled, type ON checks
	FOR EACH ROW WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id
	  OR OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.type IS DISTINCT FROM NEW.type)
	EXECUTE FUNCTION checks_create_state();

-- ingest_checks_recent() answers two more columns (the window's oldest and
-- newest stamps): a new result type, so the old function goes (it is made
-- again from sql/functions/ after the migrations).
DROP FUNCTION IF EXISTS ingest_checks_recent(bigint[], timestamptz[], integer, integer);
