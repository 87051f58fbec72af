-- check_parent_recovered(check_id) - when a parent recovers, the events
-- that tell its children what their contacts did not hear while it was
-- down (docs/alerting.md, "Dependencies"): a PROBLEM for each child still
-- a HARD problem, a RECOVERY for each that recovered meanwhile from a
-- problem they were told about, with the reason in the detail. The same
-- rows as the jobs' "untold" (serverd/alert/jobs.c) for these children,
-- minus those something else still suppresses (downtime, its agent down,
-- flapping, acknowledged, another parent down). In the shape of
-- alert_q_record's input (serverd/alert/alert.c), which records them in the
-- statement that records the parent's RECOVERY: at once, and once.
-- PL/pgSQL, so that the caller's plan counts on a few rows (ROWS 10)
-- rather than on every check of the agents that name the parent, an
-- estimate that would have PostgreSQL compile that plan (JIT) on every
-- ingest batch; its own plan is the session's, and never compiled.
CREATE OR REPLACE FUNCTION check_parent_recovered(bigint)
RETURNS TABLE (kind text, agent_id bigint, check_id bigint, status smallint,
	prev_status smallint, state_type text, attempt integer, value float8,
	output text, detail jsonb)
LANGUAGE plpgsql STABLE ROWS 10 SET jit = off AS $$
BEGIN
	RETURN QUERY SELECT CASE WHEN s.status = 0 THEN 'RECOVERY' ELSE 'PROBLEM' END, c.agent_id, c.id,
		s.status, COALESCE(s.notified_status, 0)::smallint, 'HARD', s.attempt,
		l.value, COALESCE(l.output, ''),
		jsonb_build_object('parent', pn.name, 'reason', 'parent ' || pn.name
			|| CASE WHEN s.status = 0 THEN ' recovered' ELSE ' recovered; still failing' END)
	FROM (SELECT a.name || '/' || k.name AS name FROM checks k
	      JOIN agents a ON a.id = k.agent_id WHERE k.id = $1) pn
	CROSS JOIN check_children($1) ch
	JOIN checks c ON c.id = ch.id
	JOIN agents a ON a.id = c.agent_id
	JOIN check_state s ON s.check_id = c.id
	LEFT JOIN LATERAL check_last(c.id) l ON true
	WHERE c.enabled AND s.state_type = 'HARD' AND s.status IS NOT NULL
	  AND s.status <> COALESCE(s.notified_status, 0)
	  AND NOT check_in_downtime(c.id, c.agent_id)
	  AND (a.state <> 'down' OR c.type = 'heartbeat')
	  AND NOT s.flapping AND NOT (s.acknowledged AND s.status > 0)
	  AND check_suppressed_by(c.id, c.agent_id) IS NULL
	ORDER BY c.id;
END $$;
