-- A check's definition only: what the agent downloads
-- (GET /api/v1/agent/self/checks). Labels are not part of it.
CREATE OR REPLACE FUNCTION check_def_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', c.id, 'agent_id', c.agent_id, 'name', c.name, 'type', c.type,
		'params', c.params, 'warning', c.warning, 'critical', c.critical,
		'max_attempts', c.max_attempts, 'enabled', c.enabled,
		'contacts', to_jsonb(c.contacts),
		'created_at', rfc3339(c.created_at), 'updated_at', rfc3339(c.updated_at))
$$;
