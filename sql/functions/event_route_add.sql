-- event_route_add(id, decision, detail) - appends one decision to an
-- event's record (sql/033_routing.sql), as notification_route_add() does
-- for a notification.
CREATE OR REPLACE FUNCTION event_route_add(bigint, text, text)
RETURNS boolean LANGUAGE sql AS $$
	UPDATE events SET route = route || jsonb_build_array(jsonb_build_object(
		'at', rfc3339(now()), 'decision', $2, 'detail', $3))
	WHERE id = $1
	RETURNING true
$$;
