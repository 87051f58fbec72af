-- The state object of a check ("state" in the check object of the API and
-- of the stream's check frames): the one place PostgreSQL writes it.
-- /api/v1/status writes the same object in C for its budget
-- (serverd/api/api_status.c; tests/e2e/test_face_status.py holds the two
-- equal). The newest result is given (stream.c reads those of many checks
-- at once with check_last_many()), or read here with check_last().
CREATE OR REPLACE FUNCTION check_state_json(s check_state, agent_id bigint,
    last_at timestamptz, output text, value double precision, perfdata text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'status', status_name(s.status), 'state_type', s.state_type,
		'attempt', s.attempt, 'since', rfc3339(s.since),
		'last_result_at', rfc3339(last_at), 'output', output,
		'value', value, 'perfdata', perfdata, 'acknowledged', s.acknowledged,
		'ack_by', CASE WHEN s.acknowledged THEN s.ack_by END,
		'in_downtime', check_in_downtime(s.check_id, agent_id),
		'flapping', s.flapping, 'flap_pct', s.flap_pct,
		'last_notified_at', rfc3339(s.last_notified_at))
$$;

-- The same with the check's newest result read here. check_last() is
-- called once, in FROM ("(f(x)).*" would call it once per column); its row
-- has a column agent_id, which in an SQL function would win over the
-- parameter of that name: hence $2.
CREATE OR REPLACE FUNCTION check_state_json(s check_state, agent_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT check_state_json(s, $2, l.observed_at, l.output, l.value, l.perfdata)
	FROM check_last(s.check_id) l
$$;
