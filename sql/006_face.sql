-- 006_face.sql - what the operator's face needs: API tokens' last use,
-- browser sessions, and the notifications that drive /api/v1/stream.

-- When an API token was last used (written at most once a minute per token
-- and serverd; see api_tokens.c). Such an update must not empty every
-- serverd's token cache: the cache trigger of 002 now ignores it.
ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;
DROP TRIGGER api_tokens_auth ON api_tokens;
CREATE TRIGGER api_tokens_auth AFTER INSERT OR DELETE OR UPDATE OF name, role, token_hash
	ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION auth_notify();

-- A browser session stands for the API token it was opened with (its role),
-- and goes with it: revoking the token ends its sessions at once. Only the
-- SHA-256 of the cookie is stored; a session idle longer than
-- session_idle_s is refused (and deleted at the next login).
CREATE TABLE sessions (
	id_hash       bytea PRIMARY KEY,
	token_id      bigint NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_token_idx ON sessions (token_id);

-- /api/v1/stream: every serverd LISTENs on custos_stream. Payloads are
-- 'e<event id>', 'c<check id>' or 'a<agent id>'; PostgreSQL delivers them at
-- COMMIT and folds duplicates within one transaction. Only changes an
-- operator sees are sent: a steady check's new result notifies nothing.
-- (A deleted check or agent is looked up, not found, and sends no frame;
-- its notification still tells every serverd that /status changed.)
-- a stand-in for the trigger: the body is sql/functions/stream_notify.sql
CREATE FUNCTION stream_notify() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';

CREATE TRIGGER events_stream AFTER INSERT ON events
	FOR EACH ROW EXECUTE FUNCTION stream_notify();
CREATE TRIGGER check_state_stream AFTER UPDATE ON check_state
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
	   OR OLD.state_type IS DISTINCT FROM NEW.state_type
	   OR OLD.attempt IS DISTINCT FROM NEW.attempt
	   OR OLD.acknowledged IS DISTINCT FROM NEW.acknowledged
	   OR OLD.ack_comment IS DISTINCT FROM NEW.ack_comment
	   OR OLD.flapping IS DISTINCT FROM NEW.flapping)
	EXECUTE FUNCTION stream_notify();
CREATE TRIGGER checks_stream AFTER UPDATE OF enabled ON checks
	FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
	EXECUTE FUNCTION stream_notify();
CREATE TRIGGER checks_stream_insert AFTER INSERT OR DELETE ON checks
	FOR EACH ROW EXECUTE FUNCTION stream_notify();
CREATE TRIGGER agents_stream_insert AFTER INSERT OR DELETE ON agents
	FOR EACH ROW EXECUTE FUNCTION stream_notify();
CREATE TRIGGER agents_stream AFTER UPDATE OF state ON agents
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
	EXECUTE FUNCTION stream_notify();
CREATE TRIGGER downtimes_stream AFTER INSERT OR DELETE OR UPDATE OF started, ended ON downtimes
	FOR EACH ROW EXECUTE FUNCTION stream_notify();
