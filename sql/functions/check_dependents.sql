-- check_dependents(check_id) - {"checks": N, "agents": M}: how many checks
-- depend on the check, at any depth, and on how many agents (an agent that
-- names it counts even without checks); NULL when none. A PROBLEM of the
-- check carries it in its detail (check_dependents_detail()), and its
-- notification says "N checks on M agents depend on it".
CREATE OR REPLACE FUNCTION check_dependents(bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH RECURSIVE d(id, agent_id) AS (
		SELECT k.id, k.agent_id FROM check_children($1) k
		UNION
		SELECT k.id, k.agent_id FROM d CROSS JOIN LATERAL check_children(d.id) k
	), ag AS (
		SELECT agent_id FROM d
		UNION SELECT a.id FROM agents a WHERE a.parents @> ARRAY[$1]
	)
	SELECT CASE WHEN (SELECT count(*) FROM ag) > 0 THEN jsonb_build_object(
		'checks', (SELECT count(*) FROM d WHERE id <> $1),
		'agents', (SELECT count(*) FROM ag)) END
$$;
