-- 037_receipt_poll.sql - acknowledging from the phone: the receipts of
-- emergency pages are polled, and an acknowledgement in the Pushover app
-- becomes a custos acknowledgement. Owned by serverd/notify/receipt.c
-- (docs/alerting.md, "Acknowledging from the phone"; docs/design.md, "The
-- receipt poll").
--
-- A Pushover emergency page (priority 2) rings until it is acknowledged in
-- the app, cancelled, or expires; its receipt is stored with its row
-- (notifications.receipt, 004). While the page may still ring and its
-- problem is open, one serverd of those on the database asks Pushover about
-- the receipt every pushover_receipt_poll_s:
--   receipt_poll_due      when the next poll is due (NULL: sent_at plus the
--                         interval). A claim moves it one interval on from
--                         the poll's start, in the statement that claims, so
--                         every serverd on the database together polls a
--                         receipt once per interval.
--   receipt_poll_lease_until, receipt_poll_holder
--                         the poll in flight and the serverd instance that
--                         holds it (serverd_instances, 019), as the cancel's
--                         lease (020): a second poll of one receipt does not
--                         start while a slow one is in flight, and the lease
--                         of a killed holder is taken over at once.
--   receipt_polls, receipt_polled_at, receipt_poll_error
--                         how many polls, the last one, and what went wrong
--                         with it (NULL when it went right).
--   acknowledged_at, acknowledged_by
--                         when the page was acknowledged in the app
--                         (Pushover's acknowledged_at) and by whom (the
--                         person whose pushover_user acknowledged it, or the
--                         key redacted when nobody has it).
--   receipt_expired_at    when Pushover answered "expired": the page rings no
--                         more and the receipt is not polled again.
ALTER TABLE notifications ADD COLUMN receipt_poll_due timestamptz;
ALTER TABLE notifications ADD COLUMN receipt_poll_lease_until timestamptz;
ALTER TABLE notifications ADD COLUMN receipt_poll_holder integer;
ALTER TABLE notifications ADD COLUMN receipt_polls integer NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN receipt_polled_at timestamptz;
ALTER TABLE notifications ADD COLUMN receipt_poll_error text;
ALTER TABLE notifications ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE notifications ADD COLUMN acknowledged_by text;
ALTER TABLE notifications ADD COLUMN receipt_expired_at timestamptz;

-- The receipts still to poll: a page neither cancelled, acknowledged nor
-- expired. The poller reads only these few index entries every tick.
CREATE INDEX notifications_receipt_poll_idx ON notifications (id)
	WHERE receipt IS NOT NULL AND receipt_cancelled_at IS NULL
	  AND acknowledged_at IS NULL AND receipt_expired_at IS NULL;

-- Pushover's answer "too many requests" (HTTP 429) to a receipt poll pauses
-- every poll of every serverd on the database until then. Apart from
-- channel_pauses: a page must still go out while the polls wait.
CREATE TABLE receipt_poll_pause (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	until   timestamptz NOT NULL,
	reason  text NOT NULL
);
