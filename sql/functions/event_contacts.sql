-- event_contacts(kind, status, check_id, agent_id) - the notification rows
-- an event makes when no policy routes it: a row per contact of its check
-- (else of its agent; else every contact) that wants its kind (notify_on),
-- per channel the contact has an address on. The channels and their
-- contacts' columns are serverd's registry (serverd/notify/registry.c),
-- written into the table channels at start. The alert's insert
-- (serverd/alert/alert.c) makes the rows from it and event_contacts_told()
-- counts them for the routing record: one definition for both.
CREATE OR REPLACE FUNCTION event_contacts(kind text, status smallint, check_id bigint,
    agent_id bigint)
RETURNS TABLE (contact_id bigint, channel text) LANGUAGE sql STABLE AS $$
	SELECT ct.id, ch.name
	FROM contacts ct
	CROSS JOIN LATERAL (SELECT ch.name, to_jsonb(ct) ->> ch.contact_column AS addr
		FROM channels ch) ch
	LEFT JOIN LATERAL (SELECT c.contacts FROM checks c WHERE c.id = $3 OFFSET 0) c ON true
	LEFT JOIN LATERAL (SELECT a.contacts FROM agents a WHERE a.id = $4 OFFSET 0) a ON true
	WHERE (CASE
		WHEN $1 IN ('PROBLEM', 'RENOTIFY') THEN lower(status_name($2))
		WHEN $1 = 'RECOVERY' THEN 'recovery'
		WHEN $1 LIKE 'FLAPPING%' THEN 'flapping'
		WHEN $1 LIKE 'AGENT%' THEN 'agent'
		WHEN $1 = 'ACKNOWLEDGEMENT' THEN 'acknowledgement'
		END) = ANY (ct.notify_on)
	  AND ch.addr IS NOT NULL AND ch.addr <> ''
	  AND (COALESCE(c.contacts, a.contacts) IS NULL
	       OR ct.id = ANY (COALESCE(c.contacts, a.contacts)))
$$;
