-- check_children(check_id) - the checks that name the check as a parent,
-- themselves or through their agent (sql/035_parents.sql), one level.
CREATE OR REPLACE FUNCTION check_children(bigint)
RETURNS TABLE (id bigint, agent_id bigint) LANGUAGE sql STABLE AS $$
	SELECT c.id, c.agent_id FROM checks c WHERE c.parents <> '{}' AND c.parents @> ARRAY[$1] AND c.id <> $1
	UNION
	SELECT c.id, c.agent_id FROM agents a JOIN checks c ON c.agent_id = a.id
	WHERE a.parents <> '{}' AND a.parents @> ARRAY[$1] AND c.id <> $1
$$;
