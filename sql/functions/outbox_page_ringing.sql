-- May an emergency page (Pushover priority 2) about the event's check (or,
-- for an agent's own events, its agent) still be ringing? Such a page has
-- an uncancelled receipt: the partial index notifications_receipt_idx holds
-- exactly those, so the test reads a handful of index entries.
CREATE OR REPLACE FUNCTION outbox_page_ringing(ev events) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM notifications n JOIN events e ON e.id = n.event_id
	               WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL
	                 AND (e.check_id = ev.check_id
	                      OR (ev.check_id IS NULL AND e.agent_id = ev.agent_id)))
$$;
