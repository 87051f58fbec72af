-- NOTIFY now, or after the COMMIT when the transaction is ingest's
-- (custos.after_commit = 'on', set with its lock: alert_q_lock_ingest in
-- serverd/alert/state.c). A transaction that NOTIFYs takes one lock for the
-- whole cluster at COMMIT and holds it until its commit record is flushed,
-- so ingest's batches would commit one at a time; after_commit_notify()
-- sends what was kept, in a transaction of its own. The senders' wake-up is
-- kept as one payload (custos.after_commit_wake, outbox_wake_merge()): asked
-- for however often, sent once.
CREATE OR REPLACE FUNCTION notify_or_defer(channel text, payload text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('custos.after_commit', true) IS DISTINCT FROM 'on' THEN
		PERFORM pg_notify(channel, payload);
	ELSIF channel = 'custos_outbox' THEN
		PERFORM set_config('custos.after_commit_wake',
			outbox_wake_merge(current_setting('custos.after_commit_wake', true), payload), false);
	ELSE
		PERFORM after_commit_add(payload);
	END IF;
END
$$;
