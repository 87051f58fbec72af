-- event_contacts_told(kind, status, check_id, agent_id) - the routing
-- record's decision for an event that no policy routes and that is
-- notified: "contacts", saying whose contacts were told and how many
-- notification rows that made (event_contacts()).
CREATE OR REPLACE FUNCTION event_contacts_told(kind text, status smallint, check_id bigint,
    agent_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('at', rfc3339(now()), 'decision', 'contacts',
		'detail', 'no policy: ' || CASE
			WHEN c.contacts IS NOT NULL THEN 'the check''s contacts'
			WHEN a.contacts IS NOT NULL THEN 'the agent''s contacts'
			ELSE 'every contact (none named)' END
		|| ' were told: ' || n.n || CASE WHEN n.n = 1 THEN ' row' ELSE ' rows' END)
	FROM (SELECT count(*) AS n FROM event_contacts($1, $2, $3, $4)) n
	LEFT JOIN checks c ON c.id = $3
	LEFT JOIN agents a ON a.id = $4
$$;
