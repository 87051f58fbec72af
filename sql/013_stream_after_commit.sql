-- 013_stream_after_commit.sql - ingest sends its notifications after its
-- COMMIT, not inside it.
--
-- A transaction that NOTIFYs takes one lock for the whole cluster at COMMIT
-- and holds it until its commit record is flushed (PostgreSQL's async.c:
-- notifications are queued in commit order). Every ingest batch that
-- changed a check's status or attempt NOTIFYed (the check_state_stream
-- trigger, and events_stream and the outbox wake-ups for its events), so
-- those batches committed one at a time, each waiting for its own WAL flush
-- instead of sharing one (bench/ingest: 50,000 results/s and 29.7 ms of
-- PostgreSQL CPU per 1,000 rows with the trigger; 60,000 and 22.6 ms
-- without it).
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

-- payload 'o' wakes the senders (custos_outbox); any other goes to the
-- stream (custos_stream)
CREATE FUNCTION after_commit_add(payload text) RETURNS void LANGUAGE sql AS $$
	SELECT set_config('custos.after_commit_pending',
	  COALESCE(NULLIF(current_setting('custos.after_commit_pending', true), '') || ',', '')
	  || payload, false)
$$;

-- NOTIFY now, or after the COMMIT when the transaction is ingest's
CREATE FUNCTION notify_or_defer(channel text, payload text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('custos.after_commit', true) = 'on' THEN
		PERFORM after_commit_add(CASE WHEN channel = 'custos_outbox' THEN 'o' ELSE payload END);
	ELSE
		PERFORM pg_notify(channel, payload);
	END IF;
END
$$;

-- checks: the checks whose state the caller's committed transaction
-- changed in what the stream shows (the columns of check_state_stream's
-- WHEN below; may be NULL). Sends what the transaction kept for after its
-- COMMIT, then the checks; called in a transaction of its own.
CREATE FUNCTION after_commit_notify(checks bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	p text := current_setting('custos.after_commit_pending', true);
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	IF p IS NOT NULL AND p <> '' THEN
		PERFORM set_config('custos.after_commit_pending', '', false);
		PERFORM pg_notify(CASE WHEN x = 'o' THEN 'custos_outbox' ELSE 'custos_stream' END,
		  CASE WHEN x = 'o' THEN '' ELSE x END)
		  FROM unnest(string_to_array(p, ',')) x;
	END IF;
	PERFORM pg_notify('custos_stream', 'c' || id) FROM unnest(checks) id;
END
$$;

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

-- 006's, with an event's notification deferred in ingest's transactions
CREATE OR REPLACE FUNCTION stream_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'events' THEN
		PERFORM notify_or_defer('custos_stream', 'e' || NEW.id);
	ELSIF TG_TABLE_NAME = 'check_state' THEN
		PERFORM pg_notify('custos_stream', 'c' || NEW.check_id);
	ELSIF TG_TABLE_NAME = 'checks' THEN
		PERFORM pg_notify('custos_stream', 'c' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
	ELSIF TG_TABLE_NAME = 'agents' THEN
		PERFORM pg_notify('custos_stream', 'a' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
	ELSIF TG_TABLE_NAME = 'downtimes' THEN
		IF TG_OP = 'DELETE' THEN
			PERFORM pg_notify('custos_stream', CASE WHEN OLD.check_id IS NOT NULL
				THEN 'c' || OLD.check_id ELSE 'a' || OLD.agent_id END);
		ELSE
			PERFORM pg_notify('custos_stream', CASE WHEN NEW.check_id IS NOT NULL
				THEN 'c' || NEW.check_id ELSE 'a' || NEW.agent_id END);
		END IF;
	END IF;
	RETURN NULL;
END $$;

-- 010's, the same way
CREATE OR REPLACE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM notifications n JOIN events e ON e.id = n.event_id
	           WHERE n.receipt IS NOT NULL AND n.receipt_cancelled_at IS NULL
	             AND (e.check_id = NEW.check_id
	                  OR (NEW.check_id IS NULL AND e.agent_id = NEW.agent_id))) THEN
		PERFORM notify_or_defer('custos_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
