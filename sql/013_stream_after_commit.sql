-- 013_stream_after_commit.sql - ingest tells the live stream of its state
-- changes after its COMMIT, not inside it.
--
-- A transaction that NOTIFYs takes one lock for the whole cluster at COMMIT
-- and holds it until its commit record is flushed (PostgreSQL's async.c:
-- notifications are queued in commit order). Every ingest batch that
-- changed a check's status or attempt sent one through the
-- check_state_stream trigger, so those batches committed one at a time,
-- each waiting for its own WAL flush instead of sharing one
-- (bench/ingest: 50,000 results/s and 29.7 ms of PostgreSQL CPU per 1,000
-- rows with the trigger; 60,000 and 22.6 ms without it).
--
-- So check_state_write(), ingest's write-back, turns the trigger off while
-- its UPDATE runs (custos.stream_after, a setting local to the
-- transaction), and serverd sends the changed checks' notifications with
-- stream_notify_checks() in the same pipeline, right after the COMMIT
-- (serverd/api/ingest.c). That statement is its own small transaction,
-- committed without waiting for the flush (a notification is not durable
-- anyway: a crash of PostgreSQL loses pending ones either way), so the
-- cluster-wide lock is held for microseconds. Every other writer of
-- check_state (acks, downtimes, jobs) still notifies through the trigger.
-- A failed notification no longer fails the batch: the results are
-- committed first (a NOTIFY queue filled by a stuck listener used to refuse
-- ingest with 500).
DROP TRIGGER check_state_stream ON check_state;
CREATE TRIGGER check_state_stream AFTER UPDATE ON check_state
	FOR EACH ROW WHEN ((OLD.status IS DISTINCT FROM NEW.status
	   OR OLD.state_type IS DISTINCT FROM NEW.state_type
	   OR OLD.attempt IS DISTINCT FROM NEW.attempt
	   OR OLD.acknowledged IS DISTINCT FROM NEW.acknowledged
	   OR OLD.ack_comment IS DISTINCT FROM NEW.ack_comment
	   OR OLD.flapping IS DISTINCT FROM NEW.flapping)
	  AND current_setting('custos.stream_after', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION stream_notify();

CREATE OR REPLACE FUNCTION check_state_write(j json) RETURNS void LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
	PERFORM set_config('custos.stream_after', 'on', true);
	UPDATE check_state s SET status = x.status, state_type = x.state_type,
	  attempt = x.attempt, hard_status = x.hard_status,
	  since = COALESCE('epoch'::timestamptz + x.since * interval '1 microsecond', s.since),
	  acknowledged = s.acknowledged AND NOT x.ack_cleared AND x.status <> 0,
	  ack_comment = CASE WHEN x.ack_cleared OR x.status = 0 THEN NULL ELSE s.ack_comment END,
	  ack_expires_at = CASE WHEN x.ack_cleared OR x.status = 0 THEN NULL
	   ELSE s.ack_expires_at END,
	  flapping = x.flapping, flap_history = x.flap_history, flap_pct = x.flap_pct,
	  updated_at = now()
	 FROM json_to_recordset(j) AS x(check_id bigint, status smallint,
	  state_type text, attempt integer, hard_status smallint, since bigint,
	  ack_cleared boolean, flapping boolean,
	  flap_history text, flap_pct real)
	 WHERE s.check_id = x.check_id;
	PERFORM set_config('custos.stream_after', 'off', true);
END
$$;

-- ids: the checks whose state the caller's committed transaction changed
-- in what the stream shows (as the trigger's WHEN above, flap_history
-- alone excepted). Called in a transaction of its own.
CREATE FUNCTION stream_notify_checks(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	PERFORM pg_notify('custos_stream', 'c' || id) FROM unnest(ids) id;
END
$$;
