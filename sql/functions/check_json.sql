-- The check object of the API (/api/v1/checks, /api/v1/checks/{id}): its
-- definition, its state (null when it has no check_state row), its
-- availability and its own labels (its agent's are on the agent); managed:
-- created by POST /api/v1/config (sql/025_config.sql); template: the
-- template that made it, overrides: what was set on it over the template's
-- (sql/039_templates.sql).
CREATE OR REPLACE FUNCTION check_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT check_def_json(c) || jsonb_build_object(
		'state', (SELECT check_state_json(s, c.agent_id) FROM check_state s
		          WHERE s.check_id = c.id),
		'availability', check_availability(ARRAY[c.id]),
		'labels', c.labels, 'managed', c.managed,
		'template', c.template, 'overrides', c.overrides)
$$;
