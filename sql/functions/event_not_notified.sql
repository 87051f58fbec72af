-- event_not_notified(kind, agent_id, check_id) - why a new event is not
-- notified, as its routing record's first decision ({"at", "decision",
-- "detail"}), or NULL when it is notified. The alert's insert
-- (serverd/alert/alert.c) takes notify from it, so the record and the
-- decision are one computation. In order: a downtime (of the check or its
-- agent), the agent down (a heartbeat is fed by pings, not by its agent:
-- sql/018_heartbeat.sql), the problem acknowledged, the check flapping.
-- An agent's own events stop at a downtime.
CREATE OR REPLACE FUNCTION event_not_notified(kind text, agent_id bigint, check_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('at', rfc3339(now()), 'decision', w.decision,
		'detail', CASE w.decision
		WHEN 'downtime' THEN CASE WHEN w.dt_id IS NULL
			THEN 'the start or end of a downtime is recorded, not notified'
			ELSE CASE WHEN w.dt_check IS NULL THEN 'agent in downtime ' ELSE 'in downtime ' END
			|| quote_literal(w.dt_name) || ' until ' || rfc3339(w.dt_end) END
		WHEN 'agent down' THEN 'agent ' || w.agent || ' is down'
		WHEN 'acknowledged' THEN 'check acknowledged by ' || COALESCE(w.ack_by, 'someone')
		ELSE 'the check is flapping' END)
	FROM (SELECT CASE
		WHEN $1 IN ('DOWNTIME START', 'DOWNTIME END') OR d.id IS NOT NULL THEN 'downtime'
		WHEN $3 IS NULL THEN NULL
		WHEN a.state = 'down' AND NOT EXISTS (SELECT 1 FROM heartbeats hb
			WHERE hb.check_id = $3) THEN 'agent down'
		WHEN $1 IN ('PROBLEM', 'RENOTIFY') AND s.acknowledged THEN 'acknowledged'
		WHEN $1 IN ('PROBLEM', 'RECOVERY', 'RENOTIFY') AND s.flapping THEN 'flapping'
		END AS decision,
		d.id AS dt_id, d.check_id AS dt_check, d.end_at AS dt_end,
		COALESCE(NULLIF(d.name, ''), NULLIF(d.comment, ''), '#' || d.id) AS dt_name,
		a.name AS agent, s.ack_by
	FROM (SELECT 1) one
	LEFT JOIN LATERAL (SELECT * FROM downtimes d
		WHERE (d.check_id = $3 OR d.agent_id = $2)
		  AND d.start_at <= now() AND d.end_at > now()
		ORDER BY d.end_at DESC LIMIT 1) d ON true
	LEFT JOIN agents a ON a.id = $2
	LEFT JOIN check_state s ON s.check_id = $3) w
	WHERE w.decision IS NOT NULL
$$;
