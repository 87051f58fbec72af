-- check_dependents_detail(kind, check_id, detail) - an event's detail with
-- "dependents" (check_dependents()) added: for a PROBLEM or RENOTIFY of a
-- check that others depend on; otherwise the detail as it came.
CREATE OR REPLACE FUNCTION check_dependents_detail(text, bigint, jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN x.d IS NULL THEN $3
		ELSE COALESCE($3, '{}') || jsonb_build_object('dependents', x.d) END
	FROM (SELECT CASE WHEN $1 IN ('PROBLEM', 'RENOTIFY') AND $2 IS NOT NULL
		THEN check_dependents($2) END AS d) x
$$;
