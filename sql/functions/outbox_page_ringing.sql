-- May an emergency page (Pushover priority 2) about the event's check (or,
-- for an agent's own events, its agent) still be ringing? Such a page has
-- an uncancelled receipt: the partial index notifications_receipt_idx holds
-- exactly those, so the test reads a handful of index entries.
-- PL/pgSQL, not SQL: it is called by the trigger events_outbox_wake for
-- every recovery, and a SQL function called from PL/pgSQL was parsed and
-- planned again in every transaction (under churn, once per ingest batch:
-- bench/README.md); PL/pgSQL keeps its plan for the connection.
CREATE OR REPLACE FUNCTION outbox_page_ringing(ev events) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM notifications n JOIN events e ON e.id = n.event_id
	               WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL
	                 AND (e.check_id = ev.check_id
	                      OR (ev.check_id IS NULL AND e.agent_id = ev.agent_id)));
END
$$;
