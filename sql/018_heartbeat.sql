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

-- (check_heartbeat_json() and heartbeats_write_due() in sql/functions/.)
