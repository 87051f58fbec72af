-- Keeps a stream payload (or several, comma-separated) for after the
-- COMMIT of ingest's transaction, in custos.after_commit_pending: a session
-- setting, so a rolled-back transaction leaves nothing there (PostgreSQL
-- undoes a SET made in an aborted transaction). after_commit_notify()
-- sends them. PL/pgSQL, as outbox_page_ringing(): called once per ingest
-- batch that records events, it was a SQL function parsed and planned
-- again on every call.
CREATE OR REPLACE FUNCTION after_commit_add(payload text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('custos.after_commit_pending',
	  COALESCE(NULLIF(current_setting('custos.after_commit_pending', true), '') || ',', '')
	  || payload, false);
END
$$;
