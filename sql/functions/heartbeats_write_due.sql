-- The watcher's write-back of a group of due heartbeats (one agent's, in
-- one transaction): j = [{"c": check_id, "e": expected_at, "l": late_at,
-- "r": last_result_at, "d": run_deadline}, ...], times in microseconds
-- since the epoch or null. A function so that its UPDATE is planned as one
-- key lookup per element (as check_state_write()).
CREATE OR REPLACE FUNCTION heartbeats_write_due(j json) RETURNS void LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
	UPDATE heartbeats h SET
	  expected_at = 'epoch'::timestamptz + x.e * interval '1 microsecond',
	  late_at = 'epoch'::timestamptz + x.l * interval '1 microsecond',
	  last_result_at = 'epoch'::timestamptz + x.r * interval '1 microsecond',
	  run_deadline = 'epoch'::timestamptz + x.d * interval '1 microsecond'
	 FROM json_to_recordset(j) AS x(c bigint, e bigint, l bigint, r bigint, d bigint)
	 WHERE h.check_id = x.c;
END
$$;
