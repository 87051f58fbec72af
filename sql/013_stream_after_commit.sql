-- 013_stream_after_commit.sql - ingest sends its notifications after its
-- COMMIT, not inside it.
--
-- A transaction that NOTIFYs takes one lock for the whole cluster at COMMIT
-- and holds it until its commit record is flushed (PostgreSQL's async.c:
-- notifications are queued in commit order). Every ingest batch that
-- changed a check's status or attempt NOTIFYed (the check_state_stream
-- trigger, and events_stream and the outbox wake-ups for its events), so
-- those batches committed one at a time, each waiting for its own WAL flush
-- instead of sharing one (bench/ingest in alternating runs, this change
-- among others: bench/README.md, "The fourth rework").
--
-- So ingest sets custos.after_commit = 'on' for its transaction (with its
-- lock: alert_q_lock_ingest in serverd/alert/state.c), and then:
--   - check_state_stream does not fire: serverd knows which checks it
--     changed and names them to after_commit_notify();
--   - an event's stream notification and the senders' wake-up are kept in
--     custos.after_commit_pending (a session setting, so a rolled-back
--     transaction leaves nothing there: PostgreSQL undoes a SET made in an
--     aborted transaction);
-- and serverd calls after_commit_notify() in the same pipeline, right
-- after the COMMIT. That call is a transaction of its own, committed
-- without waiting for the flush: a notification is not durable anyway (a
-- crash of PostgreSQL loses pending ones either way), so the cluster-wide
-- lock is held for microseconds. If it fails, the batch is still stored:
-- serverd logs it, the senders look at the outbox within 15 s anyway
-- (OUTBOX_SAFETY_MS), and the stream shows the checks at their next change.
-- Every other writer (acks, downtimes, jobs) notifies from inside its
-- transaction as before.

-- The functions: after_commit_add(), notify_or_defer(),
-- after_commit_notify(), events_stream_after(), outbox_page_ringing() and
-- outbox_wake() in sql/functions/.

DROP TRIGGER check_state_stream ON check_state;
CREATE TRIGGER check_state_stream AFTER UPDATE ON check_state
	FOR EACH ROW WHEN ((OLD.status IS DISTINCT FROM NEW.status
	   OR OLD.state_type IS DISTINCT FROM NEW.state_type
	   OR OLD.attempt IS DISTINCT FROM NEW.attempt
	   OR OLD.acknowledged IS DISTINCT FROM NEW.acknowledged
	   OR OLD.ack_comment IS DISTINCT FROM NEW.ack_comment
	   OR OLD.flapping IS DISTINCT FROM NEW.flapping)
	  AND current_setting('custos.after_commit', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION stream_notify();

-- an event's stream notification: 006's trigger outside ingest's
-- transactions, kept for after the COMMIT inside them
DROP TRIGGER events_stream ON events;
CREATE TRIGGER events_stream AFTER INSERT ON events
	FOR EACH ROW WHEN (current_setting('custos.after_commit', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION stream_notify();
-- a stand-in for the trigger: the body is sql/functions/events_stream_after.sql
CREATE FUNCTION events_stream_after() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER events_stream_after AFTER INSERT ON events
	FOR EACH ROW WHEN (current_setting('custos.after_commit', true) = 'on')
	EXECUTE FUNCTION events_stream_after();
