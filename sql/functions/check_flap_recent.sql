-- The newest results of a check for its flap window (ingest rebuilds the
-- window of each check it evaluates from them), read from the newest end of
-- its index whatever the statistics say: planned with sorting off, so the
-- only plan left takes the rows in the index's order and stops after n (a
-- generic plan made with a young partition's statistics read and sorted
-- every result of two days). The rows' order within the window is the
-- aggregate's own and not affected.
-- c: the check; skew_s: max_clock_skew_s (a stamp further ahead is not
-- looked at); n: how many results (ENGINE_FLAP_WINDOW).
-- Returns their statuses, oldest first, as a string of digits, or NULL.
CREATE OR REPLACE FUNCTION check_flap_recent(c bigint, skew_s integer, n integer) RETURNS text
LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
BEGIN
	RETURN (SELECT string_agg(r.status::text, '' ORDER BY r.observed_at, r.id)
	        FROM (SELECT h.status, h.observed_at, h.id FROM check_history h
	              WHERE h.check_id = c AND h.observed_at > now() - interval '2 days'
	                AND h.observed_at <= now() + skew_s * interval '1 second'
	              ORDER BY h.observed_at DESC, h.id DESC LIMIT n) r);
END
$$;
