-- Remakes history_tops(): one row per attached day partition (pending
-- detaches included), with the highest id it holds (null when empty), for
-- history_raw_floor(). Its body names the partitions, so it is generated
-- here, not kept in a file of its own, and must be remade whenever one is
-- made (history_partition_ensure) and after a DETACH, before the DROP of
-- the detached table (serverd's retention). Creators of partitions and this
-- function serialise on the advisory lock of history_partition_ensure. A
-- SQL function has no dependency on the tables its body names: a DROP is
-- never refused because of it, but a partition dropped by hand must be
-- followed by SELECT history_tops_make() (serverd's history thread also
-- remakes it at start and hourly; on a new database serverd makes it right
-- after the functions).
CREATE OR REPLACE FUNCTION history_tops_make() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	body text;
BEGIN
	PERFORM pg_advisory_xact_lock(1751741300, 1);
	SELECT string_agg(format('SELECT %L::date, (SELECT max(id) FROM %I)', p.day, p.name),
	                  ' UNION ALL ' ORDER BY p.day)
	INTO body FROM history_partitions() p;
	IF body IS NULL THEN
		body := 'SELECT NULL::date, NULL::bigint WHERE false';
	END IF;
	IF body IS DISTINCT FROM (SELECT prosrc FROM pg_proc
	                          WHERE oid = 'history_tops()'::regprocedure) THEN
		EXECUTE format('CREATE OR REPLACE FUNCTION history_tops()'
		               ' RETURNS TABLE (day date, top bigint) LANGUAGE sql STABLE AS %L', body);
	END IF;
END $$;
