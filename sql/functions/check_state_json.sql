-- The state object of a check ("state" in the check object of the API).
-- The newest result is read once (check_last() in FROM; "(f(x)).*" would
-- call it once per column). agent_id is named by position ($2): the row of
-- check_last() has a column of that name, and in an SQL function the
-- column would win.
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
