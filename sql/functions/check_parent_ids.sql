-- check_parent_ids(check_id, agent_id) - the ids of a check's parents: its
-- own and its agent's (sql/035_parents.sql); with a NULL check_id, the
-- agent's (for AGENT DOWN and AGENT UP). A check is never its own parent.
CREATE OR REPLACE FUNCTION check_parent_ids(bigint, bigint)
RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
	SELECT p FROM (
		SELECT unnest(c.parents) AS p FROM checks c WHERE c.id = $1
		UNION SELECT unnest(a.parents) FROM agents a WHERE a.id = $2) x
	WHERE p IS DISTINCT FROM $1
$$;
