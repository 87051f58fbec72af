-- in_downtime: an active downtime on the check or on its agent
CREATE OR REPLACE FUNCTION check_in_downtime(check_id bigint, agent_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM downtimes d
		WHERE (d.check_id = $1 OR d.agent_id = $2)
		  AND d.start_at <= now() AND d.end_at > now())
$$;
