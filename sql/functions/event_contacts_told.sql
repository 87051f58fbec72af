-- event_contacts_told(event, check_id, agent_id, rows) - appends the
-- routing record's decision for an event that is notified and that no
-- policy took (serverd/alert/alert.c calls it after policy_route() for
-- only those): "contacts", saying whose contacts were told and how many
-- notification rows that made (rows: the statement's count of what
-- event_contacts() gave it). Written once, never written and then taken
-- back. VOLATILE: it sees the event's row the calling statement inserted,
-- as policy_route() does; PL/pgSQL for its kept plans.
CREATE OR REPLACE FUNCTION event_contacts_told(ev_id bigint, ev_check bigint,
    ev_agent bigint, n bigint)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	whose text;
BEGIN
	SELECT CASE
		WHEN (SELECT c.contacts FROM checks c WHERE c.id = ev_check) IS NOT NULL
			THEN 'the check''s contacts'
		WHEN (SELECT a.contacts FROM agents a WHERE a.id = ev_agent) IS NOT NULL
			THEN 'the agent''s contacts'
		ELSE 'every contact (none named)' END INTO whose;
	UPDATE events SET route = route || jsonb_build_array(route_entry('contacts',
		'no policy: ' || whose || ' were told: ' || n
		|| CASE WHEN n = 1 THEN ' row' ELSE ' rows' END))
	WHERE id = ev_id;
	RETURN FOUND;
END
$$;
