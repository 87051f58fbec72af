-- 030_quiet_hours.sql - people's quiet hours, and the notifications they
-- hold back (serverd/notify/outbox.c; the window arithmetic is
-- lib/oncall.c's, on the person's wall clock; docs/people.md).
--
-- Quiet hours: weekly windows on the user's wall clock (contacts.tz), each
-- "DAYS HH:MM-HH:MM" as lib/oncall.h reads them.
ALTER TABLE contacts ADD COLUMN quiet_hours text[] NOT NULL DEFAULT '{}';

-- held_until: the sender found the row inside its person's quiet hours and
-- put it back until they end (next_attempt_at = held_until); it stays set
-- after, as the record that it was held. 'dropped': a held row that was not
-- worth sending when the window ended (its problem had recovered, a later
-- notification of its check had gone out, or it is the recovery of a
-- problem that was itself dropped); last_error says which.
ALTER TABLE notifications ADD COLUMN held_until timestamptz;
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
	CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dropped'));
-- the series look-ups of a claimed row (the row before it, a later one
-- sent): over every status, where notifications_open_idx has the open ones
CREATE INDEX notifications_series_idx ON notifications (contact_id, channel, series, event_id);
