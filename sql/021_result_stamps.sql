-- 021_result_stamps.sql - the result_ids of the results this server
-- stamped, so that a resend of one is found by one probe of a key.
--
-- check_history's de-duplication key is (agent_id, result_id, observed_at)
-- (sql/005): it holds the partition key, so a result that carries its own
-- stamp is looked for in its day's partition alone. A result that the
-- server stamps (one posted without observed_at, as a script's passive
-- result, or one stamped further ahead than max_clock_skew_s, stored with
-- the server's time) cannot be found that way when it is resent: the
-- stamp it got is not in the resend. Ingest looked each such result_id up
-- in every day partition of the retention: a scan set up in 30-odd
-- partitions per batch, planned on whatever statistics each partition had,
-- so a new day's partition (00:00 UTC, or a fresh install) made the batch
-- a scan of the day. Now ingest claims each such result_id here (INSERT ...
-- ON CONFLICT DO NOTHING on the primary key: no plan to choose, one probe
-- of one index): a claim refused is a duplicate. The claim and the result
-- commit together. Kept as long as history (history_retention_days, a day
-- more), trimmed by the history thread (serverd/store/history.c).
CREATE TABLE result_stamps (
	agent_id    bigint NOT NULL,
	result_id   text NOT NULL,
	stamped_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (agent_id, result_id)
);
-- rows come in stamped_at order: the trim finds the old ones by range
CREATE INDEX result_stamps_stamped_idx ON result_stamps USING brin (stamped_at);

-- A check's newest results for ingest, in one probe of its index: the flap
-- window (the statuses of its newest n results of the last two days, oldest
-- first, as check_flap_recent() of sql/017 gives them) and the newest stored
-- result observed after "after" (µs since the epoch, as LEAST(observed_at,
-- received_at + 5 minutes): a stamp counts as observed at most 5 minutes
-- after it came), or 0. A stamp further ahead than skew_s
-- (max_clock_skew_s) is not looked at. Planned with sorting off, so the only
-- plan is the check's index read from its newest end and stopped after n
-- rows, whatever statistics the partitions have (a day's partition new at
-- 00:00 UTC has none; docs/decisions.md). Ingest read the newest result
-- with a second, inline probe of its own, planned generic with the
-- statement.
CREATE FUNCTION ingest_check_recent(c bigint, after timestamptz, skew_s integer, n integer,
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
