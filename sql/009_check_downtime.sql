-- 009_check_downtime.sql - a check shows its agent's downtime even before
-- its first result.
--
-- check_state_json() of 001 asked check_in_downtime() with "agent_id",
-- meant as its parameter; but the row of check_last() it reads from has a
-- column of that name, and in an SQL function the column wins. So the
-- agent asked about was the one of the check's last result: none for a
-- check that has no result yet, whose "in_downtime" then missed its agent's
-- downtime in /api/v1/checks/{id}. The parameter is named by position here.
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
	FROM (SELECT (check_last(s.check_id)).*) l
$$;
