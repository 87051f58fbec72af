-- 007_history_fast.sql - summaries within budget, retention without a lock
-- on check_history (docs/history.md; the decisions are in
-- serverd/store/history.c and serverd/api/api_summary.c).
--
-- 1. The hour and day roll-ups' primary keys carry every column (INCLUDE):
--    one check's 720 hours of a month are then ~8 contiguous index pages,
--    read by an index-only scan, instead of ~720 heap pages (the roll-ups
--    are written in time order, all checks of an hour side by side). The
--    minute roll-up is left alone (an hour is 60 rows; its budget was met
--    and it is the most written table). Cost: the upserts of the current
--    hour and day are no longer HOT updates.
-- 2. history_raw_floor() no longer runs one dynamic EXECUTE per partition
--    (~2 ms for a month, evaluated more than once per summary): it reads
--    history_tops(), a SQL function regenerated whenever the set of
--    partitions changes, whose body asks each partition for its max(id)
--    (one descent of the right edge of its primary key each) in one
--    statement that the planner inlines and caches.
-- 3. Retention detaches a partition CONCURRENTLY, then drops the detached
--    table: history_retention_list() says in which state each expired
--    day's table is, so that an interrupted run is finished by the next.
-- 4. agent_facts_history gains an index on changed_at for its retention.

-- ---- 1. covering primary keys ------------------------------------------------

ALTER TABLE rollup_hour DROP CONSTRAINT rollup_hour_pkey,
	ADD CONSTRAINT rollup_hour_pkey PRIMARY KEY (check_id, start)
	INCLUDE (count, nvalues, vmin, vmax, vsum, ok, warning, critical, unknown);
ALTER TABLE rollup_day DROP CONSTRAINT rollup_day_pkey,
	ADD CONSTRAINT rollup_day_pkey PRIMARY KEY (check_id, start)
	INCLUDE (count, nvalues, vmin, vmax, vsum, ok, warning, critical, unknown);

-- ---- 2. the floor of the raw rows, without dynamic SQL per request -----------

-- Remakes history_tops(): one row per attached day partition (pending
-- detaches included), with the highest id it holds (null when empty). Its
-- body names the partitions, so it must be remade whenever one is made
-- (history_partition_ensure) and after a DETACH, before the DROP of the
-- detached table (serverd's retention). Creators of partitions and this
-- function serialise on the advisory lock of history_partition_ensure. A
-- SQL function has no dependency on the tables its body names: a DROP is
-- never refused because of it, but a partition dropped by hand must be
-- followed by SELECT history_tops_make() (serverd also remakes it at start
-- and hourly).
CREATE FUNCTION history_tops_make() RETURNS void LANGUAGE plpgsql AS $$
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

CREATE FUNCTION history_tops() RETURNS TABLE (day date, top bigint)
LANGUAGE sql STABLE AS 'SELECT NULL::date, NULL::bigint WHERE false';
SELECT history_tops_make();

-- as in 005, and history_tops() remade with the new partition
CREATE OR REPLACE FUNCTION history_partition_ensure(d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	part text := history_partition_name(d);
BEGIN
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	PERFORM pg_advisory_xact_lock(1751741300, 1);
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	BEGIN
		EXECUTE format('CREATE TABLE %I PARTITION OF check_history FOR VALUES FROM (%L) TO (%L)',
			part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	EXCEPTION WHEN duplicate_table OR unique_violation THEN
		RETURN false;
	END;
	PERFORM history_tops_make();
	RETURN true;
END $$;

-- Where the rows not rolled up yet may lie, from lo on (as in 005): the
-- start of the oldest partition (not before lo) holding an id above the
-- watermark, or 'infinity'. STABLE: the calling statement's snapshot, so
-- it agrees with the roll-ups and the watermark that statement reads.
CREATE OR REPLACE FUNCTION history_raw_floor(lo timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT GREATEST(lo, COALESCE(min(t.day)::timestamp AT TIME ZONE 'UTC', 'infinity'))
	FROM history_tops() t
	WHERE t.day >= (lo AT TIME ZONE 'UTC')::date
	  AND t.top > (SELECT last_id FROM rollup_watermark)
$$;

-- ---- 3. retention ---------------------------------------------------------------

-- The day tables older than keep_days days before today (UTC), oldest
-- first, and their state: 'attached' (a partition), 'pending' (a DETACH
-- ... CONCURRENTLY was interrupted: finish it with FINALIZE) or 'detached'
-- (no longer a partition: left by an interrupted retention, drop it).
CREATE FUNCTION history_retention_list(keep_days integer)
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

-- ---- 4. facts history retention --------------------------------------------------

CREATE INDEX agent_facts_history_changed_idx ON agent_facts_history (changed_at);
