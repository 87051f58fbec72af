-- Does a set of labels and facts answer to a selector? A parsed selector
-- arrives as one jsonb parameter (serverd/api/apiutil.c, api_selector()):
-- an array of requirements
--   {"key": K, "fact": true|false, "op": "in"|"notin"|"exists"|"!exists",
--    "values": [V, ...]}
-- with a fact's path already split ({"key": ["interfaces", "eth0"]}). No
-- user text is ever part of the SQL: the statements are fixed and prepared.
-- A fact compares as its text (#>>): "4" selects the number 4 too.
CREATE OR REPLACE FUNCTION selector_match(labels jsonb, facts jsonb, sel jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT NOT EXISTS (
		SELECT FROM jsonb_array_elements(sel) r
		CROSS JOIN LATERAL (SELECT CASE WHEN (r->>'fact')::boolean
			THEN facts #>> ARRAY(SELECT jsonb_array_elements_text(r->'key'))
			ELSE labels ->> (r->>'key') END AS v) x
		WHERE NOT CASE r->>'op'
			WHEN 'in' THEN x.v IS NOT NULL AND (r->'values') ? x.v
			WHEN 'notin' THEN x.v IS NULL OR NOT (r->'values') ? x.v
			WHEN 'exists' THEN x.v IS NOT NULL
			WHEN '!exists' THEN x.v IS NULL
		END)
$$;
