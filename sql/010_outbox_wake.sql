-- 010_outbox_wake.sql - a recovery or an acknowledgement wakes the senders
-- only when it may end an emergency page.
--
-- 004 woke them on every such event, so that a page ringing until
-- acknowledged (Pushover priority 2) is cancelled at once. But under churn
-- most recoveries end no page, and every wake cost each sender a claim and a
-- look at when the next row is due, for nothing (bench/ingest's churn phase:
-- about one wake per batch). An emergency page still ringing has an
-- uncancelled receipt: the partial index notifications_receipt_idx (004)
-- holds exactly those, so the test reads a handful of index entries.
-- The events that notify somebody wake the senders anyway (alert_record:
-- pg_notify when outbox rows were written).
CREATE OR REPLACE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM notifications n JOIN events e ON e.id = n.event_id
	           WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL
	             AND (e.check_id = NEW.check_id
	                  OR (NEW.check_id IS NULL AND e.agent_id = NEW.agent_id))) THEN
		PERFORM pg_notify('custos_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
