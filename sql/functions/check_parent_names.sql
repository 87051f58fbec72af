-- check_parent_names(ids) - parents as the API, the CLI and the YAML name
-- them: ["agent/check", ...] in the stored order (sql/035_parents.sql).
-- PL/pgSQL for its plan, kept by the session (see check_suppressed_by()).
CREATE OR REPLACE FUNCTION check_parent_names(bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF $1 = '{}' THEN
		RETURN '[]';
	END IF;
	RETURN (SELECT COALESCE(jsonb_agg(a.name || '/' || c.name ORDER BY p.ord), '[]')
		FROM unnest($1) WITH ORDINALITY AS p(id, ord)
		JOIN checks c ON c.id = p.id JOIN agents a ON a.id = c.agent_id);
END $$;
