-- 014_drop_flap_history.sql - check_state no longer keeps the flap window.
--
-- Since ingest rebuilds a check's flap window from its newest stored
-- results whenever it reads the check (serverd/alert/engine.c,
-- engine_flap_replay(); docs/alerting.md), check_state.flap_history was
-- written on every change and read by nothing. flap_pct stays: it is the
-- share shown in the API, as of the check's last change.
ALTER TABLE check_state DROP COLUMN flap_history;

-- as in 011, without flap_history
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
