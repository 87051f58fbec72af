-- route_entry(decision, detail) - one routing decision as the record keeps
-- it (sql/033_routing.sql): {"at", "decision", "detail"}. For the rows made
-- with their first decision in the statement that inserts them, where
-- notification_route_add() cannot reach them yet; the same shape.
CREATE OR REPLACE FUNCTION route_entry(decision text, detail text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('at', rfc3339(now()), 'decision', decision, 'detail', detail)
$$;
