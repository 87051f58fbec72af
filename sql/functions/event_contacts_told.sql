-- event_contacts_told(kind, status, check_id, agent_id) - the routing
-- record's decision for an event that no policy routes and that is
-- notified: "contacts", saying whose contacts were told and how many
-- notification rows that made (event_contacts()). The alert's insert
-- (serverd/alert/alert.c) asks for it only once policy_route() has said
-- that no policy takes the event, so it is never written and then taken
-- back. PL/pgSQL for its kept plans, as event_not_notified().
CREATE OR REPLACE FUNCTION event_contacts_told(ev_kind text, ev_status smallint,
    ev_check bigint, ev_agent bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	whose text;
	n bigint;
BEGIN
	SELECT CASE
		WHEN (SELECT c.contacts FROM checks c WHERE c.id = ev_check) IS NOT NULL
			THEN 'the check''s contacts'
		WHEN (SELECT a.contacts FROM agents a WHERE a.id = ev_agent) IS NOT NULL
			THEN 'the agent''s contacts'
		ELSE 'every contact (none named)' END INTO whose;
	SELECT count(*) INTO n FROM event_contacts(ev_kind, ev_status, ev_check, ev_agent);
	RETURN jsonb_build_object('at', rfc3339(now()), 'decision', 'contacts',
		'detail', 'no policy: ' || whose || ' were told: ' || n
		|| CASE WHEN n = 1 THEN ' row' ELSE ' rows' END);
END
$$;
