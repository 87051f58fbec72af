-- Triggers agents_auth_update, agents_auth_delete (on agents) and
-- api_tokens_auth (on api_tokens): tell every serverd that what a token
-- stands for changed, so that its token cache (serverd/http/authcache.h)
-- starts again. The triggers' column lists and WHEN clauses choose what
-- counts: checkouts and a token's last_used_at notify nothing.
CREATE OR REPLACE FUNCTION auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('custos_auth', '');
	RETURN NULL;
END $$;
