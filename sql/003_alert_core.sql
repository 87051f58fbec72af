-- 003_alert_core.sql - the agent's clock, as serverd sees it.
--
-- clock_skew_s: the last offset seen between the agent's clock and the
-- server's, in seconds (positive: the agent is ahead). Measured at every
-- checkout (the end of the agent's run, started_at + duration_ms, against
-- the server's time then) and whenever a result is stamped further in the
-- future than max_clock_skew_s allows (that result is stored with the
-- server's time instead). NULL until measured.
ALTER TABLE agents ADD COLUMN clock_skew_s double precision;

CREATE OR REPLACE FUNCTION agent_json(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', a.id, 'name', a.name, 'interval_s', a.interval_s,
		'contacts', to_jsonb(a.contacts), 'facts', a.facts, 'version', a.version,
		'state', a.state, 'created_at', rfc3339(a.created_at),
		'last_checkout_at', rfc3339(a.last_checkout_at),
		'next_checkout_by', rfc3339(a.next_checkout_by),
		'checks_revision', a.checks_revision::text,
		'clock_skew_s', a.clock_skew_s)
$$;
