-- The write-back of an ingest batch's changed states (alert/state.c,
-- alert_q_write_states, under the lock rule of alert/state.h), as a
-- function whose plan is pinned to one key lookup per state: serverd
-- prepares its statements with generic plans (docs/decisions.md), and a
-- generic plan does not know how many rows json_to_recordset() gives (it
-- hashed every check's state against the batch). The SET clauses hold only
-- while the function runs.
-- j: [{"check_id", "status", "state_type", "attempt", "hard_status",
--      "since" (microseconds since the epoch, or null: unchanged),
--      "ack_cleared", "flapping", "flap_pct",
--      "win", "win_from", "win_last", "win_kept"}, ...]
-- win: the flap window check_state keeps (sql/042_flap_window.sql), win_from
-- and win_last its stamps (µs), or win null (or absent, as the heartbeat
-- watcher writes): not kept, the next ingest reads the history. It is not
-- kept either when its newest result is stamped more than 5 minutes after
-- now() (its received_at): ingest's late test reads such a stamp as
-- received_at + 5 minutes (ingest_checks_recent()), and the history's order
-- would no longer be the engine's. win_kept: the window came from
-- check_state; when another writer cleared it since (a partition retired
-- by the retention, history.c), it stays cleared.
CREATE OR REPLACE FUNCTION check_state_write(j json) RETURNS void LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
	UPDATE check_state s SET status = x.status, state_type = x.state_type,
	  attempt = x.attempt, hard_status = x.hard_status,
	  since = COALESCE('epoch'::timestamptz + x.since * interval '1 microsecond', s.since),
	  acknowledged = s.acknowledged AND NOT x.ack_cleared AND x.status <> 0,
	  ack_comment = CASE WHEN x.ack_cleared OR x.status = 0 THEN NULL ELSE s.ack_comment END,
	  ack_expires_at = CASE WHEN x.ack_cleared OR x.status = 0 THEN NULL
	   ELSE s.ack_expires_at END,
	  flapping = x.flapping, flap_pct = x.flap_pct,
	  flap_window = CASE WHEN w.keep AND (s.flap_window IS NOT NULL OR NOT w.kept)
	   THEN x.win END,
	  flap_from = CASE WHEN w.keep AND (s.flap_window IS NOT NULL OR NOT w.kept)
	   THEN 'epoch'::timestamptz + x.win_from * interval '1 microsecond' END,
	  flap_last = CASE WHEN w.keep AND (s.flap_window IS NOT NULL OR NOT w.kept)
	   THEN 'epoch'::timestamptz + x.win_last * interval '1 microsecond' END,
	  updated_at = now()
	 FROM json_to_recordset(j) AS x(check_id bigint, status smallint,
	  state_type text, attempt integer, hard_status smallint, since bigint,
	  ack_cleared boolean, flapping boolean, flap_pct real,
	  win text, win_from bigint, win_last bigint, win_kept boolean)
	 CROSS JOIN LATERAL (SELECT x.win IS NOT NULL AND x.win_from IS NOT NULL
	  AND x.win_last IS NOT NULL
	  AND 'epoch'::timestamptz + x.win_last * interval '1 microsecond'
	   <= now() + interval '5 minutes' AS keep, COALESCE(x.win_kept, false) AS kept) w
	 WHERE s.check_id = x.check_id;
END
$$;
