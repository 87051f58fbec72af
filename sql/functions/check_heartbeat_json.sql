-- What the checks API adds to a heartbeat check's object: the ping URL
-- (base: public_url) and uuid - secrets, so only when show_secret (admin
-- tokens) - and where the schedule stands. '{}' for other checks.
CREATE OR REPLACE FUNCTION check_heartbeat_json(c checks, base text, show_secret boolean) RETURNS jsonb
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
