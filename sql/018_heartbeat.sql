-- 018_heartbeat.sql - heartbeat checks: jobs that report by pinging
-- (serverd/api/api_heartbeat.c), missed on time (serverd/alert/hbwatch.c).
--
-- A check of type 'heartbeat' has one row here, made with the check by the
-- API (its ping uuid is 128 random bits from getrandom(2), chosen by
-- serverd). The schedule arithmetic is serverd's (lib/schedule.c): these
-- columns hold its answers, so that finding what is due is one index probe
-- (heartbeats_due_idx) and two serverd on one database claim a due row by
-- locking it (FOR UPDATE SKIP LOCKED, its deadline re-checked under the lock).
CREATE TABLE heartbeats (
	check_id          bigint PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	ping_uuid         uuid NOT NULL UNIQUE,
	created_at        timestamptz NOT NULL DEFAULT now(),
	anchor_at         timestamptz NOT NULL DEFAULT now(),  -- the schedule counts from here:
	                                                       -- the last run's end, or creation
	expected_at       timestamptz,   -- the run expected next
	late_at           timestamptz,   -- expected_at + grace_s: CRITICAL when nothing came
	last_ping_at      timestamptz,   -- any report
	last_success_at   timestamptz,
	last_duration_ms  bigint,        -- of the last run that ended
	last_exit_code    integer,
	last_result_at    timestamptz,   -- the newest report evaluated (older ones: history only)
	started_at        timestamptz,   -- an open run's start, NULL when none is open
	run_deadline      timestamptz    -- started_at + max_duration_s (or grace_s); NULL once
	                                 -- reported still running, or when no run is open
);
CREATE INDEX heartbeats_due_idx ON heartbeats ((LEAST(late_at, run_deadline)));

-- The report ids of POST /api/v1/agent/self/heartbeats/{name} already
-- taken, so a spooled report sent twice is stored once. Kept 30 days.
CREATE TABLE heartbeat_reports (
	check_id     bigint NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	report_id    text NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (check_id, report_id)
);
CREATE INDEX heartbeat_reports_received_idx ON heartbeat_reports (received_at);

-- What the checks API adds to a heartbeat check's object: the ping URL
-- (base: public_url) and uuid - secrets, so only when show_secret (admin
-- tokens) - and where the schedule stands. '{}' for other checks.
CREATE FUNCTION check_heartbeat_json(c checks, base text, show_secret boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT jsonb_build_object(
		'ping_uuid', CASE WHEN show_secret THEN h.ping_uuid::text END,
		'ping_url', CASE WHEN show_secret THEN base || '/ping/' || h.ping_uuid::text END,
		'heartbeat', jsonb_build_object(
			'expected_at', rfc3339(h.expected_at),
			'late_at', rfc3339(h.late_at),
			'last_ping_at', rfc3339(h.last_ping_at),
			'last_success_at', rfc3339(h.last_success_at),
			'last_duration_s', h.last_duration_ms / 1000.0,
			'last_exit_code', h.last_exit_code,
			'running_since', rfc3339(h.started_at)))
		FROM heartbeats h WHERE h.check_id = c.id), '{}'::jsonb)
$$;

-- The watcher's write-back of a group of due heartbeats (one agent's, in
-- one transaction): j = [{"c": check_id, "e": expected_at, "l": late_at,
-- "r": last_result_at, "d": run_deadline}, ...], times in microseconds
-- since the epoch or null. A function so that its UPDATE is planned as one
-- key lookup per element (as check_state_write(), sql/011).
CREATE FUNCTION heartbeats_write_due(j json) RETURNS void LANGUAGE plpgsql
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
