-- 002_auth_notify.sql - tell every serverd when what a token stands for
-- changes, so that their in-memory token caches (serverd/http/authcache.h) start
-- again: a token rotated or gone, an agent's interval or the revision of its
-- checks changed, an API token added or removed. Checkouts, which update
-- other agent columns all the time, notify nothing.

-- a stand-in for the trigger: the body is sql/functions/auth_notify.sql
CREATE FUNCTION auth_notify() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';

CREATE TRIGGER agents_auth_update AFTER UPDATE OF token_hash, interval_s, checks_revision, name
	ON agents FOR EACH ROW
	WHEN (OLD.token_hash IS DISTINCT FROM NEW.token_hash
	   OR OLD.interval_s IS DISTINCT FROM NEW.interval_s
	   OR OLD.checks_revision IS DISTINCT FROM NEW.checks_revision
	   OR OLD.name IS DISTINCT FROM NEW.name)
	EXECUTE FUNCTION auth_notify();
CREATE TRIGGER agents_auth_delete AFTER DELETE ON agents
	FOR EACH STATEMENT EXECUTE FUNCTION auth_notify();
CREATE TRIGGER api_tokens_auth AFTER INSERT OR UPDATE OR DELETE ON api_tokens
	FOR EACH STATEMENT EXECUTE FUNCTION auth_notify();
