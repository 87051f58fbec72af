-- The newest result of a check (by observed_at, then id). The recent
-- partitions are tried first (runtime pruning on now()), so the usual case
-- probes two partitions instead of every one of them; a check silent for
-- longer searches all. Planned without sorting, so the only plan left takes
-- the rows in the index's order and stops at the first, whatever the
-- statistics of a young partition say (as check_flap_recent()).
CREATE OR REPLACE FUNCTION check_last(check_id bigint) RETURNS check_history
LANGUAGE sql STABLE SET enable_sort = off AS $$
	SELECT * FROM (
		(SELECT * FROM check_history h
		 WHERE h.check_id = $1 AND h.observed_at >= now() - interval '1 day'
		 ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)
		UNION ALL
		(SELECT * FROM check_history h WHERE h.check_id = $1
		 ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)
	) x LIMIT 1
$$;
