-- route_entry(decision, detail) - one decision of the routing record
-- (sql/033_routing.sql) as a one-element array, to append with ||: the
-- shape notification_route_add() writes, for the statements that already
-- update a row and record a decision on the way (the alert's insert, the
-- outbox's claim and outcome) instead of a second round trip.
CREATE OR REPLACE FUNCTION route_entry(text, text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_array(jsonb_build_object('at', rfc3339(now()), 'decision', $1,
		'detail', $2))
$$;
