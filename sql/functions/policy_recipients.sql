-- policy_recipients(steps, first, last, at) - who a policy's steps first ..
-- last (0-based) tell, and on which channels: each named user, and the
-- user on call at `at` in each "rotation:NAME" (rotation_oncall()), on
-- every channel of the step's "channels" (all when absent) they have an
-- address for. A person named by two of the steps is told once, by the
-- first. via: " (on call in rotation R)" or "", for the routing record.
-- A name that is no user (any more) tells nobody. PL/pgSQL: its plan made
-- once per connection, not at every call from policy_route().
CREATE OR REPLACE FUNCTION policy_recipients(steps jsonb, first integer, last integer,
	at timestamptz)
RETURNS TABLE (contact_id bigint, channel text, step integer, priority smallint, via text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY SELECT DISTINCT ON (ct.id, ch.name) ct.id, ch.name, (s.i - 1)::integer,
		(s.st ->> 'priority')::smallint,
		CASE WHEN w.who LIKE 'rotation:%' THEN ' (on call in rotation '
			|| substr(w.who, 10) || ')' ELSE '' END
	FROM jsonb_array_elements(steps) WITH ORDINALITY s(st, i)
	CROSS JOIN LATERAL jsonb_array_elements_text(s.st -> 'notify') w(who)
	JOIN contacts ct ON ct.id = CASE WHEN w.who LIKE 'rotation:%'
		THEN rotation_oncall(substr(w.who, 10), at)
		ELSE (SELECT u.id FROM contacts u WHERE u.name = w.who) END
	CROSS JOIN LATERAL (SELECT c.name, to_jsonb(ct) ->> c.contact_column AS addr
		FROM channels c) ch
	WHERE s.i - 1 BETWEEN first AND last AND ch.addr IS NOT NULL AND ch.addr <> ''
	  AND (s.st -> 'channels' IS NULL OR (s.st -> 'channels') ? ch.name)
	ORDER BY ct.id, ch.name, s.i;
END
$$;
