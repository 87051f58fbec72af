-- Where the rows not rolled up yet may lie, from lo on: the start of the
-- oldest partition (not before lo) holding an id above the watermark, or
-- 'infinity'. A summary reads raw rows only from there. It reads
-- history_tops() (one descent of the right edge of each partition's primary
-- key, in one statement the planner inlines and caches) instead of running
-- dynamic SQL per partition. STABLE: the calling statement's snapshot, so
-- it agrees with the roll-ups and the watermark that statement reads.
CREATE OR REPLACE FUNCTION history_raw_floor(lo timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT GREATEST(lo, COALESCE(min(t.day)::timestamp AT TIME ZONE 'UTC', 'infinity'))
	FROM history_tops() t
	WHERE t.day >= (lo AT TIME ZONE 'UTC')::date
	  AND t.top > (SELECT last_id FROM rollup_watermark)
$$;
