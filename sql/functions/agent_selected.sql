-- Does the agent answer to the selector (?selector= on the lists and
-- /status)? Its effective labels are agent_labels || labels: a key set
-- through the API wins over the same key from the agent's file.
CREATE OR REPLACE FUNCTION agent_selected(a agents, sel jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT selector_match(a.agent_labels || a.labels, a.facts, sel)
$$;
