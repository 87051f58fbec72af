-- Trigger events_outbox_wake (on events, for RECOVERY and ACKNOWLEDGEMENT):
-- such an event may end an emergency page, so it wakes the senders even
-- when it notifies nobody itself - but only when a page may be ringing:
-- under churn most recoveries end no page, and every wake costs each sender
-- a claim. Now, or after the COMMIT in ingest's transactions
-- (notify_or_defer()). Events that notify somebody wake the senders anyway
-- (alert_record: pg_notify when outbox rows were written).
CREATE OR REPLACE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF outbox_page_ringing(NEW) THEN
		PERFORM notify_or_defer('custos_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
