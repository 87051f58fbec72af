-- 003_alert_core.sql - the agent's clock, as serverd sees it.
--
-- clock_skew_s: the last offset seen between the agent's clock and the
-- server's, in seconds (positive: the agent is ahead). Measured at every
-- checkout (the end of the agent's run, started_at + duration_ms, against
-- the server's time then) and whenever a result is stamped further in the
-- future than max_clock_skew_s allows (that result is stored with the
-- server's time instead). NULL until measured.
-- The agent object shows it (sql/functions/agent_json.sql).
ALTER TABLE agents ADD COLUMN clock_skew_s double precision;
