-- The newest results of the checks in motion of an ingest batch whose flap
-- window check_state does not keep (serverd/store/ingest_sql.c), a row per
-- id of ids, after[i] being that check's "after" (the batch's earliest
-- stamp of it):
--   flap       the statuses of its newest n results of the last two days,
--              oldest first, as check_flap_recent() gives them (the flap
--              window), or NULL;
--   newest_us  the newest stored result observed after "after", as µs
--              since the epoch of LEAST(observed_at, received_at + 5
--              minutes) (a stamp counts as observed at most 5 minutes after
--              it came), or 0;
--   from_us, last_us  the observed_at (µs) of the oldest and the newest
--              result in flap, or NULL (what check_state keeps with the
--              window it writes back: sql/042_flap_window.sql).
-- A stamp further ahead than skew_s (max_clock_skew_s) is not looked at.
--
-- One statement for the batch, not one call per check (it was
-- ingest_check_recent(c, after, skew_s, n)): serverd's plans are generic,
-- and PostgreSQL 15 locks every day partition of a generic plan each time
-- the plan starts, whatever it prunes then; a call per check paid that and
-- an executor start for each of the ~10 checks in motion of a churning
-- batch (bench/README.md). The batch's earliest "after" is a plain value
-- too, so the partitions before it and before the last two days are
-- dropped when the statement starts; each check's own bound prunes the
-- rest per check. Planned with sorting off, so each check is its index
-- read from the newest end, stopped after n rows, whatever statistics the
-- partitions have (a day's partition new at 00:00 UTC has none;
-- docs/decisions.md).
DROP FUNCTION IF EXISTS ingest_check_recent(bigint, timestamptz, integer, integer);
CREATE OR REPLACE FUNCTION ingest_checks_recent(ids bigint[], after timestamptz[],
                                    skew_s integer, n integer)
RETURNS TABLE (check_id bigint, flap text, newest_us bigint, from_us bigint, last_us bigint)
LANGUAGE plpgsql STABLE ROWS 10 SET enable_sort = off AS $$
DECLARE
	first_after timestamptz;
BEGIN
	IF ids IS NULL OR cardinality(ids) = 0 THEN
		RETURN;
	END IF;
	first_after := (SELECT min(a) FROM unnest(after) a);
	RETURN QUERY
	SELECT u.id, r.flap, r.newest_us,
	       (extract(epoch FROM r.w_from) * 1000000)::bigint,
	       (extract(epoch FROM r.w_last) * 1000000)::bigint
	FROM unnest(ids, after) u(id, after)
	CROSS JOIN LATERAL (
		SELECT string_agg(h.status::text, '' ORDER BY h.observed_at, h.id)
		         FILTER (WHERE h.observed_at > now() - interval '2 days') AS flap,
		       COALESCE((array_agg(h.us ORDER BY h.observed_at DESC, h.id DESC)
		         FILTER (WHERE h.observed_at > u.after))[1], 0)::bigint AS newest_us,
		       min(h.observed_at) FILTER (WHERE h.observed_at > now() - interval '2 days')
		         AS w_from,
		       max(h.observed_at) FILTER (WHERE h.observed_at > now() - interval '2 days')
		         AS w_last
		FROM (SELECT h.status, h.observed_at, h.id,
		             (extract(epoch FROM LEAST(h.observed_at, h.received_at + interval '5 minutes'))
		              * 1000000)::bigint AS us
		      FROM check_history h
		      WHERE h.check_id = u.id
		        AND h.observed_at > LEAST(now() - interval '2 days', first_after)
		        AND h.observed_at > LEAST(now() - interval '2 days', u.after)
		        AND h.observed_at <= now() + skew_s * interval '1 second'
		      ORDER BY h.observed_at DESC, h.id DESC LIMIT n) h) r;
END
$$;
