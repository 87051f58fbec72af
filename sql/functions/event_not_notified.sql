-- event_not_notified(kind, agent_id, check_id) - why a new event is not
-- notified, as its routing record's first decision ({"at", "decision",
-- "detail"}), or NULL when it is notified: always one row. The alert's
-- insert (serverd/alert/alert.c) takes notify from it, so the record and
-- the decision are one computation. In order: a parent (of the check or of
-- its agent) that is a HARD problem ("suppressed": check_parents_down(),
-- sql/035_parents.sql; not for an acknowledgement), a downtime (of the
-- check or its agent), the agent down (a heartbeat is fed by pings, not by
-- its agent: sql/018_heartbeat.sql), the problem acknowledged, the check
-- flapping. An agent's own events stop at a parent or a downtime; the start
-- or end of a downtime is recorded, not notified.
--
-- A SQL table function, called in FROM (LATERAL): PostgreSQL inlines it
-- into the caller's plan, so the decision for a batch's events is part of
-- the alert's one statement, planned once with it and kept by the
-- connection (serverd's plans are generic, db.c). It was PL/pgSQL, called
-- once per event: its two or three statements cost an executor start each
-- per event, ~46 µs an event under churn (bench/README.md, "The alert's
-- decision in its statement"). OFFSET 0 keeps it a subquery of its own, run
-- per event by key: the check's, its agent's and its state's rows (three
-- key probes); the parents' walk (check_parents_down()) only when the check
-- or its agent names a parent (most name none), behind a one-time filter;
-- the event's downtimes only when a downtime is on at all (mostly none is),
-- asked once for the statement (an uncorrelated EXISTS: an InitPlan), where
-- a read and a sort for each event were. Not STRICT, no SET, not VOLATILE:
-- each would stop the inlining. (The PL/pgSQL one returned a value, not a
-- table: a change of return type is a DROP first.)
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_proc
	           WHERE oid = to_regprocedure('event_not_notified(text, bigint, bigint)')
	             AND NOT proretset) THEN
		DROP FUNCTION event_not_notified(text, bigint, bigint);
	END IF;
END
$$;
CREATE OR REPLACE FUNCTION event_not_notified(ev_kind text, ev_agent bigint, ev_check bigint)
RETURNS TABLE (why jsonb) LANGUAGE sql STABLE ROWS 1 AS $$
	SELECT CASE WHEN r.why IS NOT NULL THEN route_entry(r.why[1], r.why[2]) END
	FROM (SELECT CASE
		WHEN ev_kind IN ('DOWNTIME START', 'DOWNTIME END')
			THEN ARRAY['downtime', 'the start or end of a downtime is recorded, not notified']
		WHEN p.hit THEN ARRAY['suppressed', 'parent ' || p.name || ' is ' || status_name(p.status)]
		WHEN d.hit THEN ARRAY['downtime',
			CASE WHEN d.check_id IS NULL THEN 'agent in downtime ' ELSE 'in downtime ' END
			|| quote_literal(d.name) || ' until ' || rfc3339(d.end_at)]
		WHEN ev_check IS NULL THEN NULL
		WHEN ag.state = 'down' AND NOT EXISTS (SELECT 1 FROM heartbeats hb
		    WHERE hb.check_id = ev_check)
			THEN ARRAY['agent down', 'agent ' || ag.name || ' is down']
		WHEN ev_kind IN ('PROBLEM', 'RENOTIFY') AND cs.acknowledged
			THEN ARRAY['acknowledged', 'check acknowledged by ' || COALESCE(cs.ack_by, 'someone')]
		WHEN ev_kind IN ('PROBLEM', 'RECOVERY', 'RENOTIFY') AND cs.flapping
			THEN ARRAY['flapping', 'the check is flapping']
		END AS why
	FROM (VALUES (1)) one(x)
	LEFT JOIN checks c ON c.id = ev_check
	LEFT JOIN agents ag ON ag.id = ev_agent
	LEFT JOIN check_state cs ON cs.check_id = ev_check
	LEFT JOIN LATERAL (SELECT true AS hit, pd.name, pd.status
		FROM check_parents_down(ev_check, ev_agent) pd
		WHERE ev_kind NOT IN ('ACKNOWLEDGEMENT', 'DOWNTIME START', 'DOWNTIME END')
		  AND (c.parents <> '{}' OR ag.parents <> '{}')
		LIMIT 1) p ON true
	LEFT JOIN LATERAL (SELECT * FROM (SELECT true AS hit, dt.check_id, dt.end_at,
			COALESCE(NULLIF(dt.name, ''), NULLIF(dt.comment, ''), '#' || dt.id) AS name
		FROM downtimes dt
		WHERE (dt.check_id = ev_check OR dt.agent_id = ev_agent)
		  AND dt.start_at <= now() AND dt.end_at > now()
		ORDER BY dt.end_at DESC LIMIT 1) d0
		WHERE EXISTS (SELECT 1 FROM downtimes dn
		              WHERE dn.start_at <= now() AND dn.end_at > now())) d ON true
	OFFSET 0) r
$$;
