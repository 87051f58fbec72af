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

-- NOTIFY now, or after the COMMIT when the transaction is ingest's
CREATE OR REPLACE FUNCTION notify_or_defer(channel text, payload text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('custos.after_commit', true) IS DISTINCT FROM 'on' THEN
		PERFORM pg_notify(channel, payload);
	ELSIF channel = 'custos_outbox' THEN
		PERFORM set_config('custos.after_commit_wake', 'on', false);
	ELSE
		PERFORM after_commit_add(payload);
	END IF;
END
$$;

DROP TRIGGER events_stream_after ON events;
CREATE OR REPLACE FUNCTION events_stream_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM after_commit_add(string_agg('e' || id, ',' ORDER BY id))
	  FROM new_events HAVING count(*) > 0;
	RETURN NULL;
END
$$;
CREATE TRIGGER events_stream_after AFTER INSERT ON events
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT WHEN (current_setting('custos.after_commit', true) = 'on')
	EXECUTE FUNCTION events_stream_after();

-- checks: as in 013
CREATE OR REPLACE FUNCTION after_commit_notify(checks bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	p text := current_setting('custos.after_commit_pending', true);
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	IF p IS NOT NULL AND p <> '' THEN
		PERFORM set_config('custos.after_commit_pending', '', false);
		PERFORM pg_notify('custos_stream', x) FROM unnest(string_to_array(p, ',')) x;
	END IF;
	IF current_setting('custos.after_commit_wake', true) = 'on' THEN
		PERFORM set_config('custos.after_commit_wake', '', false);
		PERFORM pg_notify('custos_outbox', '');
	END IF;
	PERFORM pg_notify('custos_stream', 'c' || id) FROM unnest(checks) id;
END
$$;
