-- The check object of the API (/api/v1/checks, /api/v1/checks/{id}): its
-- definition, its state (null when it has no check_state row), its
-- availability and its own labels (its agent's are on the agent); managed:
-- created by POST /api/v1/config (sql/025_config.sql); template: the
-- template that made it, overrides: what was set on it over the template's
-- (sql/039_templates.sql); parents by name and suppressed_by: the parent
-- whose HARD problem suppresses its notifications now, or null
-- (sql/035_parents.sql). serverd/api/api_status.c writes the same object
-- for the problems: change them together. The functions only for a check
-- that has parents (its own or its agent's): a call costs about 70 us
-- (bench/dependencies), a list has 1,000 checks.
CREATE OR REPLACE FUNCTION check_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT check_def_json(c) || jsonb_build_object(
		'state', (SELECT check_state_json(s, c.agent_id) FROM check_state s
		          WHERE s.check_id = c.id),
		'availability', check_availability(ARRAY[c.id]),
		'labels', c.labels, 'managed', c.managed,
		'template', c.template, 'overrides', c.overrides,
		'parents', CASE WHEN c.parents = '{}' THEN '[]' ELSE check_parent_names(c.parents) END,
		'suppressed_by', CASE WHEN c.parents = '{}' AND (SELECT a.parents FROM agents a
			WHERE a.id = c.agent_id) = '{}' THEN NULL
			ELSE check_suppressed_by(c.id, c.agent_id) END)
$$;
