-- The write-back of an ingest batch's changed states (alert/state.c,
-- alert_q_write_states, under the lock rule of alert/state.h), as a
-- function whose plan is pinned to one key lookup per state: serverd
-- prepares its statements with generic plans (docs/decisions.md), and a
-- generic plan does not know how many rows json_to_recordset() gives (it
-- hashed every check's state against the batch). The SET clauses hold only
-- while the function runs.
-- j: [{"check_id", "status", "state_type", "attempt", "hard_status",
--      "since" (microseconds since the epoch, or null: unchanged),
--      "ack_cleared", "flapping", "flap_pct"}, ...]
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
	  updated_at = now()
	 FROM json_to_recordset(j) AS x(check_id bigint, status smallint,
	  state_type text, attempt integer, hard_status smallint, since bigint,
	  ack_cleared boolean, flapping boolean, flap_pct real)
	 WHERE s.check_id = x.check_id;
END
$$;
