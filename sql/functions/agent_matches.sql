-- Search over an agent's name and the string values of its facts (kernel,
-- OS, CPU model, addresses ...), case-insensitive, as a substring.
CREATE OR REPLACE FUNCTION agent_matches(a agents, q text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT strpos(lower(a.name), lower(q)) > 0
	    OR EXISTS (SELECT 1 FROM jsonb_path_query(COALESCE(a.facts, '{}'),
	                 'strict $.** ? (@.type() == "string")') v
	               WHERE strpos(lower(v #>> '{}'), lower(q)) > 0)
$$;
