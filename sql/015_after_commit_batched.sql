-- 015_after_commit_batched.sql - ingest's deferred notifications, kept in
-- time linear in the events recorded.
--
-- 013 kept each event's stream notification by appending 'e<id>' to a
-- session setting from a row trigger. Every append copies the whole
-- setting, so a transaction recording n events cost about n^2 / 2 copied
-- entries: a batch of 5,000 results during an outage (up to three events
-- each) would copy about a gigabyte before it could commit. Now:
--   - one append per INSERT statement, from a statement trigger over the
--     rows it inserted (ingest records a batch's events in one statement);
--   - the senders' wake-up is a flag of its own (custos.after_commit_wake),
--     set however many events ask for it, sent once.
-- What is sent, and when, is as in 013.
-- (notify_or_defer(), events_stream_after() and after_commit_notify() in
-- sql/functions/.)

DROP TRIGGER events_stream_after ON events;
CREATE TRIGGER events_stream_after AFTER INSERT ON events
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT WHEN (current_setting('custos.after_commit', true) = 'on')
	EXECUTE FUNCTION events_stream_after();
