-- check_suppressed_by(check_id, agent_id) - the parent ("agent/check")
-- whose HARD problem suppresses the check's notifications now, or NULL:
-- the check object's "suppressed_by" (check_json()), the jobs' guard.
-- PL/pgSQL for its plan, kept by the session: an SQL function called from
-- another (check_json()) would be planned again at every call.
CREATE OR REPLACE FUNCTION check_suppressed_by(bigint, bigint)
RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT d.name FROM check_parents_down($1, $2) d LIMIT 1);
END $$;
