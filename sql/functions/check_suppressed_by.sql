-- check_suppressed_by(check_id, agent_id) - the parent ("agent/check")
-- whose HARD problem suppresses the check's notifications now, or NULL:
-- the check object's "suppressed_by" (check_json()), the jobs' guard.
CREATE OR REPLACE FUNCTION check_suppressed_by(bigint, bigint)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT name FROM check_parents_down($1, $2) LIMIT 1
$$;
