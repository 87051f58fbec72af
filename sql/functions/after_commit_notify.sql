-- Called by ingest right after its COMMIT, in the same pipeline, as a
-- transaction of its own committed without waiting for the flush (a
-- notification is not durable anyway). Sends what the committed transaction
-- kept (notify_or_defer(), events_stream_after()), then the checks whose
-- state it changed in what the stream shows (the columns of the
-- check_state_stream trigger's WHEN; may be NULL). If it fails, the batch
-- is still stored: serverd logs it and wakes its own senders anyway.
--
-- tag names the serverd that calls (serverd/notify/outbox.c, "Waking"): the
-- senders' wake-up goes out as 'tag/payload', and the function returns the
-- payload ('' everyone looks, NULL nothing was kept). That serverd wakes its
-- own senders from this answer and skips the NOTIFY carrying its tag; every
-- other serverd on the database wakes on the NOTIFY as before. A NULL tag
-- sends the bare payload.
CREATE OR REPLACE FUNCTION after_commit_notify(checks bigint[], tag text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	p text := current_setting('custos.after_commit_pending', true);
	w text;
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	IF p IS NOT NULL AND p <> '' THEN
		PERFORM set_config('custos.after_commit_pending', '', false);
		PERFORM pg_notify('custos_stream', x) FROM unnest(string_to_array(p, ',')) x;
	END IF;
	w := current_setting('custos.after_commit_wake', true);
	IF w IS NOT NULL AND w <> '' THEN
		-- '*' (or 'on', as kept before): everyone looks
		PERFORM set_config('custos.after_commit_wake', '', false);
		w := CASE WHEN w IN ('*', 'on') THEN '' ELSE w END;
		PERFORM pg_notify('custos_outbox', CASE WHEN tag IS NULL THEN w ELSE tag || '/' || w END);
	ELSE
		w := NULL;
	END IF;
	PERFORM pg_notify('custos_stream', 'c' || id) FROM unnest(checks) id;
	RETURN w;
END
$$;

-- The one-argument form, for a serverd older than the tag (two versions on
-- one database during an upgrade): the bare payload, as before.
CREATE OR REPLACE FUNCTION after_commit_notify(checks bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM after_commit_notify(checks, NULL);
END
$$;
