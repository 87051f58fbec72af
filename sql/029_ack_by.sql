-- 029_ack_by.sql - who acknowledged a problem, beside the acknowledgement
-- itself: the problem list's ACK mark says "acknowledged by alice" without
-- reading the events. Written by POST /api/v1/checks/{id}/ack (the user's
-- name, or the token's: serverd/alert/state.c); shown only while the check
-- is acknowledged (a cleared or expired acknowledgement leaves it behind,
-- as it leaves ack_sticky). Existing acknowledgements take the author of
-- their newest ACKNOWLEDGEMENT event.
ALTER TABLE check_state ADD COLUMN ack_by text;

UPDATE check_state s SET ack_by = e.detail->>'by'
FROM (SELECT DISTINCT ON (check_id) check_id, detail FROM events
      WHERE kind = 'ACKNOWLEDGEMENT' AND check_id IS NOT NULL
      ORDER BY check_id, id DESC) e
WHERE s.acknowledged AND e.check_id = s.check_id;

CREATE OR REPLACE FUNCTION check_state_json(s check_state, agent_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'status', status_name(s.status), 'state_type', s.state_type,
		'attempt', s.attempt, 'since', rfc3339(s.since),
		'last_result_at', rfc3339(l.observed_at), 'output', l.output,
		'value', l.value, 'perfdata', l.perfdata, 'acknowledged', s.acknowledged,
		'ack_by', CASE WHEN s.acknowledged THEN s.ack_by END,
		'in_downtime', check_in_downtime(s.check_id, $2),
		'flapping', s.flapping, 'flap_pct', s.flap_pct,
		'last_notified_at', rfc3339(s.last_notified_at))
	FROM check_last(s.check_id) l
$$;
