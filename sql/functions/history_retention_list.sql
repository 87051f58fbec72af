-- The day tables older than keep_days days before today (UTC), oldest
-- first, and their state: 'attached' (a partition), 'pending' (a DETACH
-- ... CONCURRENTLY was interrupted: finish it with FINALIZE) or 'detached'
-- (no longer a partition: left by an interrupted retention, drop it).
CREATE OR REPLACE FUNCTION history_retention_list(keep_days integer)
RETURNS TABLE (name text, day date, state text) LANGUAGE sql STABLE AS $$
	SELECT c.relname::text, to_date(substr(c.relname, 16), 'YYYYMMDD'),
	       CASE WHEN i.inhrelid IS NULL THEN 'detached'
	            WHEN i.inhdetachpending THEN 'pending' ELSE 'attached' END
	FROM pg_class c
	LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'check_history'::regclass
	WHERE c.relkind = 'r'
	  AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'check_history'::regclass)
	  AND c.relname ~ '^check_history_p[0-9]{8}$'
	  AND to_date(substr(c.relname, 16), 'YYYYMMDD') < (now() AT TIME ZONE 'UTC')::date - keep_days
	ORDER BY 2
$$;
