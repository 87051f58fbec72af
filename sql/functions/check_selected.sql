-- Does the check answer to the selector? Its effective labels are its
-- agent's effective labels || its own (the check's win).
CREATE OR REPLACE FUNCTION check_selected(check_id bigint, sel jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT FROM checks c JOIN agents a ON a.id = c.agent_id
		WHERE c.id = check_id
		AND selector_match(a.agent_labels || a.labels || c.labels, a.facts, sel))
$$;
