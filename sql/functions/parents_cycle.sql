-- parents_cycle() - a check that depends on itself through the parents
-- (its own and its agent's, sql/035_parents.sql), as "agent/check", or
-- NULL: custos apply writes a whole set's parents at once and checks the
-- graph after (serverd/api/api_config.c); the API refuses a cycle before
-- it is written (parents_resolve()).
CREATE OR REPLACE FUNCTION parents_cycle() RETURNS text LANGUAGE sql STABLE AS $$
	WITH RECURSIVE e(child, parent) AS (
		SELECT c.id, p FROM checks c JOIN agents a ON a.id = c.agent_id,
			unnest(c.parents || a.parents) AS p
		WHERE c.parents <> '{}' OR a.parents <> '{}'
	), walk(start, id) AS (
		SELECT child, parent FROM e
		UNION
		SELECT w.start, e.parent FROM walk w JOIN e ON e.child = w.id
	)
	SELECT a.name || '/' || c.name FROM walk w
	JOIN checks c ON c.id = w.start JOIN agents a ON a.id = c.agent_id
	WHERE w.id = w.start ORDER BY 1 LIMIT 1
$$;
