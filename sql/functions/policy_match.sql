-- policy_match(labels, facts, sel) - selector_match() (selector_match.sql)
-- as PL/pgSQL: the same answer for the same parsed selector, in simple
-- expressions only. The routing tries every policy for every notified
-- event, inside ingest's statement; selector_match()'s subqueries cost an
-- executor run each, several milliseconds an event for 20 policies, where
-- this is a few microseconds a policy (bench/alert-latency).
CREATE OR REPLACE FUNCTION policy_match(labels jsonb, facts jsonb, sel jsonb)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	r jsonb;
	v text;
	ok boolean;
	n integer := jsonb_array_length(sel);
BEGIN
	FOR i IN 0 .. n - 1 LOOP
		r := sel -> i;
		IF (r ->> 'fact')::boolean THEN
			-- the path, a JSON array of members, as a text[] for #>>
			v := facts #>> ARRAY(SELECT jsonb_array_elements_text(r -> 'key'));
		ELSE
			v := labels ->> (r ->> 'key');
		END IF;
		ok := CASE r ->> 'op'
			WHEN 'in' THEN v IS NOT NULL AND (r -> 'values') ? v
			WHEN 'notin' THEN v IS NULL OR NOT (r -> 'values') ? v
			WHEN 'exists' THEN v IS NOT NULL
			WHEN '!exists' THEN v IS NULL
		END;
		IF NOT ok THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END
$$;
