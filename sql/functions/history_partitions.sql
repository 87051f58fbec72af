-- The day partitions of check_history that exist, oldest first.
CREATE OR REPLACE FUNCTION history_partitions() RETURNS TABLE (name text, day date)
LANGUAGE sql STABLE AS $$
	SELECT c.relname::text, to_date(substr(c.relname, 16), 'YYYYMMDD')
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'check_history'::regclass
	  AND c.relname ~ '^check_history_p[0-9]{8}$'
	ORDER BY 2
$$;
