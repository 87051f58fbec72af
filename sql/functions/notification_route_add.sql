-- notification_route_add(id, decision, detail) - appends one decision to a
-- notification's record (sql/033_routing.sql); returns whether the row was
-- there. Every writer of a routing decision goes through here, so the
-- record has one shape.
CREATE OR REPLACE FUNCTION notification_route_add(bigint, text, text)
RETURNS boolean LANGUAGE sql AS $$
	UPDATE notifications SET route = route || jsonb_build_array(jsonb_build_object(
		'at', rfc3339(now()), 'decision', $2, 'detail', $3))
	WHERE id = $1
	RETURNING true
$$;
