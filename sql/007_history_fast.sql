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

-- history_tops() is the one function not kept in a file: its body names
-- the partitions, so history_tops_make() (sql/functions) generates it. Made
-- empty here; serverd generates it after applying the functions (on a new
-- database: serverd/store/migrate.c), at start and whenever the partitions
-- change (serverd/store/history.c).
CREATE FUNCTION history_tops() RETURNS TABLE (day date, top bigint)
LANGUAGE sql STABLE AS 'SELECT NULL::date, NULL::bigint WHERE false';

-- ---- 4. facts history retention --------------------------------------------------

CREATE INDEX agent_facts_history_changed_idx ON agent_facts_history (changed_at);
