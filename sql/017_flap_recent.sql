-- 017_flap_recent.sql - the newest results of a check for its flap window,
-- read from the newest end of its index whatever the statistics say.
--
-- Ingest rebuilds the flap window of each check it evaluates from the
-- check's newest stored results (serverd/api/ingest.c). Inline in ingest's
-- statement, planned once per connection (generic), that lookup read and
-- sorted every result of the check in the last two days whenever the plan
-- was made with statistics of about one row per check (a partition analysed
-- in its first minutes; bench/dashboard's fixture): 278 rows read for 21,
-- ~4 ms a check, seen by auto_explain. Here the statement is planned with
-- sorting off, so the only plan left takes the rows in the index's order
-- and stops after n (as sql/016 does for the newest result). The rows'
-- order within the window is the aggregate's own and not affected.
-- c: the check; skew_s: max_clock_skew_s (a stamp further ahead is not
-- looked at); n: how many results (ENGINE_FLAP_WINDOW).
-- Returns their statuses, oldest first, as a string of digits, or NULL.
CREATE FUNCTION check_flap_recent(c bigint, skew_s integer, n integer) RETURNS text
LANGUAGE plpgsql STABLE SET enable_sort = off AS $$
BEGIN
	RETURN (SELECT string_agg(r.status::text, '' ORDER BY r.observed_at, r.id)
	        FROM (SELECT h.status, h.observed_at, h.id FROM check_history h
	              WHERE h.check_id = c AND h.observed_at > now() - interval '2 days'
	                AND h.observed_at <= now() + skew_s * interval '1 second'
	              ORDER BY h.observed_at DESC, h.id DESC LIMIT n) r);
END
$$;

-- check_last() (a check's newest result, for the check objects of the API)
-- the same way: its one statement planned without sorting
ALTER FUNCTION check_last(bigint) SET enable_sort = off;
