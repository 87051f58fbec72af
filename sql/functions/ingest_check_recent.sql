-- A check's newest results, for ingest (serverd/store/ingest_sql.c: each
-- check in motion), in one probe of its index:
--   flap       the statuses of its newest n results of the last two days,
--              oldest first, as check_flap_recent() gives them (the flap
--              window), or NULL;
--   newest_us  the newest stored result observed after "after" (the batch's
--              earliest stamp for the check), as µs since the epoch of
--              LEAST(observed_at, received_at + 5 minutes) (a stamp counts as
--              observed at most 5 minutes after it came), or 0.
-- A stamp further ahead than skew_s (max_clock_skew_s) is not looked at.
-- Planned with sorting off, so the only plan is the check's index read from
-- its newest end in the partitions of the range, stopped after n rows,
-- whatever statistics the partitions have (a day's partition new at 00:00
-- UTC has none; docs/decisions.md).
CREATE OR REPLACE FUNCTION ingest_check_recent(c bigint, after timestamptz, skew_s integer, n integer,
                                    OUT flap text, OUT newest_us bigint)
LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
BEGIN
	SELECT string_agg(r.status::text, '' ORDER BY r.observed_at, r.id)
	         FILTER (WHERE r.observed_at > now() - interval '2 days'),
	       COALESCE((array_agg(r.us ORDER BY r.observed_at DESC, r.id DESC)
	         FILTER (WHERE r.observed_at > after))[1], 0)
	INTO flap, newest_us
	FROM (SELECT h.status, h.observed_at, h.id,
	             (extract(epoch FROM LEAST(h.observed_at, h.received_at + interval '5 minutes'))
	              * 1000000)::bigint AS us
	      FROM check_history h
	      WHERE h.check_id = c
	        AND h.observed_at > LEAST(now() - interval '2 days', after)
	        AND h.observed_at <= now() + skew_s * interval '1 second'
	      ORDER BY h.observed_at DESC, h.id DESC LIMIT n) r;
END
$$;
