-- event_not_notified(kind, agent_id, check_id) - why a new event is not
-- notified, as its routing record's first decision ({"at", "decision",
-- "detail"}), or NULL when it is notified. The alert's insert
-- (serverd/alert/alert.c) takes notify from it, so the record and the
-- decision are one computation. In order: a parent (of the check or of its
-- agent) that is a HARD problem ("suppressed": check_parents_down(),
-- sql/035_parents.sql; not for an acknowledgement), a downtime (of the
-- check or its agent), the agent down (a heartbeat is fed by pings, not by
-- its agent: sql/018_heartbeat.sql), the problem acknowledged, the check
-- flapping. An agent's own events stop at a parent or a downtime.
--
-- PL/pgSQL, not SQL: a SQL function this size is not inlined, and its body
-- would be planned again on every alert; PL/pgSQL keeps its plans for the
-- connection (bench/routing-cost). The check's, its agent's and its state's
-- rows are read by one statement first (three key probes), the downtimes
-- by a second: it runs for every event, and each statement of a PL/pgSQL
-- function costs its own executor start (bench/README.md, churn).
CREATE OR REPLACE FUNCTION event_not_notified(ev_kind text, ev_agent bigint, ev_check bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	d record;
	k record;
	p record;
	why text;
	detail text;
BEGIN
	IF ev_kind IN ('DOWNTIME START', 'DOWNTIME END') THEN
		why := 'downtime';
		detail := 'the start or end of a downtime is recorded, not notified';
	END IF;
	-- what the steps below read of the check, its agent and its state
	SELECT COALESCE(c.parents <> '{}', false) AS check_parents,
	       COALESCE(ag.parents <> '{}', false) AS agent_parents, ag.name, ag.state,
	       cs.acknowledged, cs.ack_by, cs.flapping
	INTO k FROM (VALUES (1)) one(x)
	LEFT JOIN checks c ON c.id = ev_check
	LEFT JOIN agents ag ON ag.id = ev_agent
	LEFT JOIN check_state cs ON cs.check_id = ev_check;
	-- the probes first: most checks and agents have no parents, and spare
	-- the walk (check_parent_ids())
	IF why IS NULL AND ev_kind <> 'ACKNOWLEDGEMENT' AND (k.check_parents OR k.agent_parents) THEN
		SELECT pd.name, pd.status INTO p FROM check_parents_down(ev_check, ev_agent) pd LIMIT 1;
		IF FOUND THEN
			why := 'suppressed';
			detail := 'parent ' || p.name || ' is ' || status_name(p.status);
		END IF;
	END IF;
	IF why IS NULL THEN
		SELECT dt.id, dt.check_id, dt.end_at,
			COALESCE(NULLIF(dt.name, ''), NULLIF(dt.comment, ''), '#' || dt.id) AS name
		INTO d FROM downtimes dt
		WHERE (dt.check_id = ev_check OR dt.agent_id = ev_agent)
		  AND dt.start_at <= now() AND dt.end_at > now()
		ORDER BY dt.end_at DESC LIMIT 1;
		IF FOUND THEN
			why := 'downtime';
			detail := CASE WHEN d.check_id IS NULL THEN 'agent in downtime ' ELSE 'in downtime ' END
				|| quote_literal(d.name) || ' until ' || rfc3339(d.end_at);
		ELSIF ev_check IS NULL THEN
			RETURN NULL;
		END IF;
	END IF;
	IF why IS NULL THEN
		IF k.state = 'down' AND NOT EXISTS (SELECT 1 FROM heartbeats hb
		    WHERE hb.check_id = ev_check) THEN
			why := 'agent down';
			detail := 'agent ' || k.name || ' is down';
		ELSE
			IF ev_kind IN ('PROBLEM', 'RENOTIFY') AND k.acknowledged THEN
				why := 'acknowledged';
				detail := 'check acknowledged by ' || COALESCE(k.ack_by, 'someone');
			ELSIF ev_kind IN ('PROBLEM', 'RECOVERY', 'RENOTIFY') AND k.flapping THEN
				why := 'flapping';
				detail := 'the check is flapping';
			ELSE
				RETURN NULL;
			END IF;
		END IF;
	END IF;
	RETURN jsonb_build_object('at', rfc3339(now()), 'decision', why, 'detail', detail);
END
$$;
