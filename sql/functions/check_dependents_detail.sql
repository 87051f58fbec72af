-- check_dependents_detail(kind, check_id, detail) - an event's detail with
-- "dependents" (check_dependents()) added: for a PROBLEM or RENOTIFY of a
-- check that others depend on; otherwise the detail as it came.
-- PL/pgSQL for its plans, kept by the session (see check_suppressed_by()).
CREATE OR REPLACE FUNCTION check_dependents_detail(text, bigint, jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	d jsonb;
BEGIN
	IF $1 NOT IN ('PROBLEM', 'RENOTIFY') OR $2 IS NULL THEN
		RETURN $3;
	END IF;
	d := check_dependents($2);
	IF d IS NULL THEN
		RETURN $3;
	END IF;
	RETURN COALESCE($3, '{}') || jsonb_build_object('dependents', d);
END $$;
