-- 024_users.sql - people. A user is a contact that may also log in to the
-- dashboard: the contacts table gains a role, a time zone and a password
-- (argon2id, libsodium's crypto_pwhash_str format; NULL: no password, no
-- login). Every existing contact is kept as it was and becomes a viewer
-- without a password; /api/v1/contacts and /api/v1/users are two views of
-- the same rows (docs/people.md), so checks' and agents' contact lists go
-- on naming the same ids.
ALTER TABLE contacts
	ADD COLUMN role text NOT NULL DEFAULT 'viewer'
		CHECK (role IN ('admin', 'operator', 'viewer')),
	ADD COLUMN tz text NOT NULL DEFAULT 'UTC',
	ADD COLUMN password_hash text;

-- An API token may be an operator's too (acknowledge, downtimes, enable and
-- disable checks; no configuration).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
	CHECK (role IN ('admin', 'operator', 'viewer'));

-- A browser session stands for an API token (POST /api/v1/session
-- {"token"}) or for a user ({"user", "password"}), and goes with it.
ALTER TABLE sessions ALTER COLUMN token_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN user_id bigint REFERENCES contacts(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_one_principal
	CHECK ((token_id IS NULL) <> (user_id IS NULL));
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE user_id IS NOT NULL;

-- Who set a downtime: the user's name under a user's session, else the
-- token's name (NULL for downtimes made before this migration).
ALTER TABLE downtimes ADD COLUMN created_by text;
