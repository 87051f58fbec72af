-- 004_delivery.sql - leases for the outbox, attempts in doubt, emergency
-- receipts and channel pauses (docs/design.md, invariants: delivery
-- never loses and never repeats silently; permanent means permanent;
-- emergency pages end). Owned by serverd/notify/outbox.c.

-- A row being sent is 'sending' until lease_until: the sender committed the
-- lease before its network call. attempt_id is the notification_attempts
-- row of that send, so the outcome is written to the right attempt and a
-- late outcome of a lease that was taken over never overwrites a newer one.
-- resend: the last attempt ended in doubt (its serverd died mid-send): the
-- next send says so (X-Custos-Resent, " (resent)", "resent": true).
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
	CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
ALTER TABLE notifications
	ADD COLUMN lease_until          timestamptz,
	ADD COLUMN attempt_id           bigint,
	ADD COLUMN resend               boolean NOT NULL DEFAULT false,
	-- a Pushover emergency (priority 2) page: its receipt, and its end
	ADD COLUMN receipt              text,
	ADD COLUMN receipt_cancelled_at timestamptz,
	ADD COLUMN receipt_cancel       text,          -- why, or why it failed
	ADD COLUMN receipt_lease_until  timestamptz;   -- a cancel in flight
CREATE INDEX notifications_sending_idx ON notifications (lease_until)
	WHERE status = 'sending';
CREATE INDEX notifications_receipt_idx ON notifications (id)
	WHERE receipt IS NOT NULL AND receipt_cancelled_at IS NULL;

-- An attempt is recorded when its lease is taken (ok NULL: no outcome yet)
-- and completed with its outcome; one whose serverd died keeps ok NULL and
-- gets the error 'interrupted'.
ALTER TABLE notification_attempts ALTER COLUMN ok DROP NOT NULL;
ALTER TABLE notification_attempts ADD COLUMN finished_at timestamptz;

-- A channel paused by its provider (Pushover 429 or X-Limit-App-Remaining: 0)
-- until a time; every serverd on the database honours it.
CREATE TABLE channel_pauses (
	channel  text PRIMARY KEY CHECK (channel IN ('email', 'pushover', 'webhook')),
	until    timestamptz NOT NULL,
	reason   text NOT NULL
);

-- A recovery or an acknowledgement may end an emergency page: wake the
-- senders even when the event itself notifies nobody (pg_notify folds
-- repeats within a transaction into one).
-- a stand-in for the trigger: the body is sql/functions/outbox_wake.sql
CREATE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER events_outbox_wake AFTER INSERT ON events
	FOR EACH ROW WHEN (NEW.kind IN ('RECOVERY', 'ACKNOWLEDGEMENT'))
	EXECUTE FUNCTION outbox_wake();
