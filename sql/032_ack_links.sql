-- 032_ack_links.sql - the acknowledgement links of problem mails
-- (serverd/notify/acklink.c makes them, serverd/api/api_acklink.c answers
-- /ack/<token>; docs/alerting.md, "Acknowledging from the mail").
--
-- One row per PROBLEM or RENOTIFY mail sent to a person: the token itself
-- (32 random bytes, base64url) travels only in the mail; the table keeps
-- its SHA-256, so a read of the database gives no working link. A link
-- acknowledges its check as its person (contact_id), once (used_at), until
-- expires_at (24 hours after the mail was made). used_from is the address
-- the acknowledgement came from, for the record.
CREATE TABLE ack_links (
	token_hash  bytea PRIMARY KEY,
	check_id    bigint NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	contact_id  bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	event_id    bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	notification_id bigint NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz,
	used_from   text
);
-- links long expired are removed when new ones are made (acklink.c)
CREATE INDEX ack_links_expires_idx ON ack_links (expires_at);
