-- check_dependents(check_id) - {"checks": N, "agents": M}: how many checks
-- depend on the check, at any depth, and on how many agents (an agent that
-- names it counts even without checks); NULL when none. A PROBLEM of the
-- check carries it in its detail (check_dependents_detail()), and its
-- notification says "N checks on M agents depend on it".
-- PL/pgSQL for its plan, kept by the session (see check_suppressed_by());
-- a check nothing names costs two index probes. Not compiled (jit off): the
-- walk's row estimates grow with every level, and compiling its plan took
-- seconds where running it takes a tenth of a millisecond.
CREATE OR REPLACE FUNCTION check_dependents(bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	nc bigint;
	na bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM checks c WHERE c.parents <> '{}' AND c.parents @> ARRAY[$1])
	   AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.parents <> '{}' AND a.parents @> ARRAY[$1]) THEN
		RETURN NULL;
	END IF;
	WITH RECURSIVE d(id, agent_id) AS (
		SELECT k.id, k.agent_id FROM check_children($1) k
		UNION
		SELECT k.id, k.agent_id FROM d CROSS JOIN LATERAL check_children(d.id) k
	)
	SELECT (SELECT count(*) FROM d WHERE d.id <> $1),
		(SELECT count(*) FROM (SELECT d.agent_id FROM d
			UNION SELECT a.id FROM agents a WHERE a.parents <> '{}' AND a.parents @> ARRAY[$1]) x)
	INTO nc, na;
	RETURN jsonb_build_object('checks', nc, 'agents', na);
END $$;
