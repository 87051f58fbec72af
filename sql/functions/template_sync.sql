-- template_sync(agent, template): brings the template-made checks
-- (checks.template) in step with the templates (sql/039_templates.sql),
-- for one agent, one template, or (both NULL) everything. Set-based: one
-- DELETE, one UPDATE, one INSERT, so a template over 500 agents is three
-- statements, not 5,000 round trips. The caller's transaction holds it
-- all: nobody sees half a template change.
--
-- A check's fields are its template's definition with its own overrides
-- on top (d || overrides). The agent's check of the same name made by
-- hand (or by another template, the first by name) wins: the template
-- makes none there (ON CONFLICT DO NOTHING). Answers the rows changed.
CREATE OR REPLACE FUNCTION template_sync(only_agent bigint, only_template text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n integer;
	total integer := 0;
BEGIN
	-- the checks no longer wanted: the agent stopped matching, or the
	-- template no longer defines that name
	DELETE FROM checks c
	WHERE c.template IS NOT NULL
	  AND (only_agent IS NULL OR c.agent_id = only_agent)
	  AND (only_template IS NULL OR c.template = only_template)
	  AND NOT EXISTS (
		SELECT FROM templates t JOIN agents a ON a.id = c.agent_id
		CROSS JOIN LATERAL jsonb_array_elements(t.checks) d
		WHERE t.name = c.template AND d->>'name' = c.name
		  AND agent_selected(a, t.selector_json));
	GET DIAGNOSTICS n = ROW_COUNT;
	total := total + n;

	UPDATE checks c SET type = e.d->>'type', params = COALESCE(e.d->'params', '{}'),
		warning = e.d->>'warning', critical = e.d->>'critical',
		max_attempts = (e.d->>'max_attempts')::integer,
		enabled = (e.d->>'enabled')::boolean,
		contacts = CASE WHEN jsonb_typeof(e.d->'contacts') = 'array' THEN
			ARRAY(SELECT jsonb_array_elements_text(e.d->'contacts')::bigint) END,
		labels = COALESCE(e.d->'labels', '{}'), updated_at = now()
	FROM (SELECT c2.id, d || c2.overrides AS d
	      FROM checks c2 JOIN templates t ON t.name = c2.template
	      CROSS JOIN LATERAL jsonb_array_elements(t.checks) d
	      WHERE d->>'name' = c2.name
	        AND (only_agent IS NULL OR c2.agent_id = only_agent)
	        AND (only_template IS NULL OR c2.template = only_template)) e
	WHERE c.id = e.id
	  AND (c.type, c.params, c.warning, c.critical, c.max_attempts, c.enabled,
	       c.contacts, c.labels)
	  IS DISTINCT FROM (e.d->>'type', COALESCE(e.d->'params', '{}'), e.d->>'warning',
	       e.d->>'critical', (e.d->>'max_attempts')::integer, (e.d->>'enabled')::boolean,
	       CASE WHEN jsonb_typeof(e.d->'contacts') = 'array' THEN
	         ARRAY(SELECT jsonb_array_elements_text(e.d->'contacts')::bigint) END,
	       COALESCE(e.d->'labels', '{}'));
	GET DIAGNOSTICS n = ROW_COUNT;
	total := total + n;

	INSERT INTO checks (agent_id, name, type, params, warning, critical, max_attempts,
		enabled, contacts, labels, template)
	SELECT DISTINCT ON (a.id, d->>'name') a.id, d->>'name', d->>'type',
		COALESCE(d->'params', '{}'), d->>'warning', d->>'critical',
		(d->>'max_attempts')::integer, (d->>'enabled')::boolean,
		CASE WHEN jsonb_typeof(d->'contacts') = 'array' THEN
			ARRAY(SELECT jsonb_array_elements_text(d->'contacts')::bigint) END,
		COALESCE(d->'labels', '{}'), t.name
	FROM templates t CROSS JOIN LATERAL jsonb_array_elements(t.checks) d
	JOIN agents a ON agent_selected(a, t.selector_json)
	WHERE (only_agent IS NULL OR a.id = only_agent)
	  AND (only_template IS NULL OR t.name = only_template)
	  AND NOT EXISTS (SELECT FROM checks x WHERE x.agent_id = a.id AND x.name = d->>'name')
	ORDER BY a.id, d->>'name', t.name
	ON CONFLICT (agent_id, name) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN total + n;
END $$;
