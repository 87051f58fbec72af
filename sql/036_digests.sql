-- 036_digests.sql - grouping into digests (serverd/notify/outbox.c,
-- serverd/notify/digest.c; docs/alerting.md, "Grouping (digests)").
--
-- When more than group_min notifications are due to one person on one
-- channel within group_window_s, the ones beyond group_min are held in the
-- person's open digest of that channel and go out together, as one message,
-- when the window ends. A digest is leased, sent and recorded as one row
-- is (lease-then-send-then-record): its members are leased with it (each
-- 'sending', with an attempt of its own) and take its outcome.
--
-- status: 'open' collects members until due_at (the window's end); then
-- 'sending' (leased until lease_until by holder, attempt counts the
-- claims: an outcome is recorded only by the claim that is still current),
-- 'pending' again after a failure (due at next_attempt_at), 'sent',
-- 'failed', or 'dropped' (every member was held back by quiet hours when
-- it was due: nothing left to send). members: how many rows it carried
-- when it was last claimed. resend: an attempt ended in doubt, the next
-- message says so.
CREATE TABLE digests (
	id               bigserial PRIMARY KEY,
	contact_id       bigint REFERENCES contacts(id) ON DELETE SET NULL,
	channel          text NOT NULL REFERENCES channels(name),
	status           text NOT NULL DEFAULT 'open'
	                   CHECK (status IN ('open', 'sending', 'pending', 'sent', 'failed', 'dropped')),
	created_at       timestamptz NOT NULL DEFAULT now(),
	due_at           timestamptz NOT NULL,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	lease_until      timestamptz,
	holder           integer,
	attempt          integer NOT NULL DEFAULT 0,
	resend           boolean NOT NULL DEFAULT false,
	members          integer NOT NULL DEFAULT 0,
	sent_at          timestamptz,
	last_error       text
);
-- one open digest per person and channel: the one a held row joins
CREATE UNIQUE INDEX digests_open_idx ON digests (contact_id, channel) WHERE status = 'open';
CREATE INDEX digests_due_idx ON digests (channel, due_at)
	WHERE status IN ('open', 'sending', 'pending');
-- the window of a storm longer than one window starts at the last digest's
CREATE INDEX digests_contact_idx ON digests (contact_id, channel, due_at);

-- A member row names its digest; q_claim leaves such rows to the digest.
ALTER TABLE notifications ADD COLUMN digest_id bigint REFERENCES digests(id) ON DELETE SET NULL;
CREATE INDEX notifications_digest_idx ON notifications (digest_id) WHERE digest_id IS NOT NULL;
-- the storm test: how many rows went to this person on this channel in the
-- window before a row (a range of this index, cut at group_min)
CREATE INDEX notifications_window_idx ON notifications (contact_id, channel, created_at, id);
