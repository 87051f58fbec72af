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
