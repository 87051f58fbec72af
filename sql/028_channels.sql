-- 028_channels.sql - the notification channels as the database knows them:
-- the names of serverd's registry (serverd/notify/registry.c), each with
-- the column of contacts that holds a contact's address on it. Every
-- serverd writes its registry's rows at start (channels_register()), so a
-- new channel needs no migration of its own when its address is a column
-- contacts already has; the outbox's tables refer to these names instead
-- of listing them, and the fan-out of alert_record() reads the addresses
-- through contact_column (docs/design.md, "Notification channels").
CREATE TABLE channels (
	name            text PRIMARY KEY,
	contact_column  text NOT NULL
);
-- the rows the outbox's tables hold today (serverd writes them again at start)
INSERT INTO channels (name, contact_column) VALUES
	('email', 'email'), ('pushover', 'pushover_user'), ('webhook', 'webhook_url');
-- statistics now: autovacuum never analyzes a table of three rows, and
-- without them the planner guesses hundreds of channels for the fan-out
-- (a plan for the wrong size, and JIT compiling it)
ANALYZE channels;

ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check,
	ADD CONSTRAINT notifications_channel_fkey FOREIGN KEY (channel) REFERENCES channels (name);
ALTER TABLE channel_pauses DROP CONSTRAINT channel_pauses_channel_check,
	ADD CONSTRAINT channel_pauses_channel_fkey FOREIGN KEY (channel) REFERENCES channels (name);
