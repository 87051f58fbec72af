-- check_parents_down(check_id, agent_id) - the parents of a check (or,
-- check_id NULL, of an agent) that are a HARD problem now: "agent/check"
-- and status, the worst first, then by name. The first one suppresses the
-- check's notifications (docs/alerting.md, "Dependencies"). A disabled
-- parent's state is old news and does not count.
CREATE OR REPLACE FUNCTION check_parents_down(bigint, bigint)
RETURNS TABLE (name text, status smallint) LANGUAGE sql STABLE AS $$
	SELECT pa.name || '/' || pc.name, s.status
	FROM check_parent_ids($1, $2) AS p(id)
	JOIN check_state s ON s.check_id = p.id
	JOIN checks pc ON pc.id = p.id
	JOIN agents pa ON pa.id = pc.agent_id
	WHERE s.status > 0 AND s.state_type = 'HARD' AND pc.enabled
	ORDER BY CASE s.status WHEN 2 THEN 0 WHEN 3 THEN 1 ELSE 2 END, 1
$$;
