-- route_entry(decision, detail) - one routing decision as the record keeps
-- it (sql/033_routing.sql): {"at", "decision", "detail"}, the shape
-- notification_route_add() writes. For the statements that already write
-- a row and record a decision on the way (the alert's insert, the
-- policies' routing and escalation, the outbox's claim and outcome)
-- instead of a second round trip: `route || route_entry(...)` appends it
-- (jsonb's || puts an object at the end of an array).
CREATE OR REPLACE FUNCTION route_entry(text, text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('at', rfc3339(now()), 'decision', $1, 'detail', $2)
$$;
