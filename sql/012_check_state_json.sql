-- 012_check_state_json.sql - a check's state object reads its newest result
-- once, not once per column.
--
-- check_state_json() of 001 and 009 took the result as
-- "FROM (SELECT (check_last(s.check_id)).*) l", and PostgreSQL expands
-- (f(x)).* into one call of f per column: eleven lookups of the newest
-- result (two probes of the recent day partitions each) for every check
-- shown by /api/v1/checks and /api/v1/checks/{id}. The function in FROM is
-- called once; the object is the same (keys, values and null for a check
-- without results). The parameter is named by position, as 009 explains.
CREATE OR REPLACE FUNCTION check_state_json(s check_state, agent_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'status', status_name(s.status), 'state_type', s.state_type,
		'attempt', s.attempt, 'since', rfc3339(s.since),
		'last_result_at', rfc3339(l.observed_at), 'output', l.output,
		'value', l.value, 'perfdata', l.perfdata, 'acknowledged', s.acknowledged,
		'in_downtime', check_in_downtime(s.check_id, $2),
		'flapping', s.flapping, 'flap_pct', s.flap_pct,
		'last_notified_at', rfc3339(s.last_notified_at))
	FROM check_last(s.check_id) l
$$;
