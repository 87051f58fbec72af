-- 019_outbox_order.sql - who holds a lease and whether it still lives, and
-- the index the order per check, contact and channel is kept with. Owned by
-- serverd/notify/holder.c and serverd/notify/outbox.c.
--
-- A row in 'sending' used to be taken over only when its lease ran out
-- (smtp_timeout_s x 4 + 3 s for email): a page in flight when its serverd
-- was killed waited 63 s. Now every serverd registers here at start and
-- proves it lives by holding a session-level advisory lock on its own
-- connection for as long as it runs; a lease records its holder, and a
-- lease whose holder's lock is gone is taken over at once
-- (docs/decisions.md: why a lock and not a renewed row).

-- One row per serverd process start; id is the lock's key. Kept for the
-- operator (which host and process held a lease); rows of dead instances
-- that hold nothing are removed by the next instance that registers.
CREATE TABLE serverd_instances (
	id          serial PRIMARY KEY,
	host        text NOT NULL,
	pid         integer NOT NULL,
	started_at  timestamptz NOT NULL DEFAULT now()
);

-- The instance that took the lease (serverd_instances.id, deliberately not
-- a foreign key: the row of a dead instance may be removed while its old
-- leases wait to be taken over). NULL: taken by an instance that did not
-- hold its lock at that moment; such a lease ends only when it runs out.
ALTER TABLE notifications ADD COLUMN holder integer;

-- The notifications of one check (of one agent, for agent events) to one
-- contact on one channel go in event order: a row is not claimed while an
-- earlier one of the same series, contact and channel is pending, waiting
-- for a retry or in doubt. series is the check's id, or minus the agent's
-- id for an agent's own events (AGENT DOWN, AGENT UP), written with the row
-- (alert.c) so the test is one probe of the index below, which holds only
-- the rows still open (few: the outbox drains). NULL (an event of neither)
-- waits for nothing. Open rows of before this migration get theirs here;
-- finished rows are left alone (they order nothing).
ALTER TABLE notifications ADD COLUMN series bigint;
UPDATE notifications n SET series = COALESCE(e.check_id, -e.agent_id)
	FROM events e WHERE e.id = n.event_id AND n.status IN ('pending', 'sending');
CREATE INDEX notifications_open_idx ON notifications (contact_id, channel, series, event_id)
	WHERE status IN ('pending', 'sending');

-- The advisory lock's key is known to serverd_live() and serverd_hold()
-- only (sql/functions/).
