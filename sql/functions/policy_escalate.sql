-- policy_escalate() - the periodic half of policies (serverd/alert/jobs.c,
-- "escalation"): for each problem a policy took on (policy_open) that is
-- still open - HARD, not OK, unacknowledged, not flapping, not in
-- downtime, its agent not down, no parent of it a HARD problem
-- (check_suppressed_by(), sql/035_parents.sql), and still matched by the
-- policy as it is now - fires what is due:
-- (a problem the policy no longer matches leaves it: its row is deleted)
--   - the next step, once its after_s has passed since the problem began:
--     its recipients are told of the newest PROBLEM, route "escalated";
--   - after the last step, every repeat_s (0: never) since the last
--     firing: a RENOTIFY event, told to the recipients of every step,
--     route "repeated".
-- One step a problem a call (the job runs every second). A problem whose
-- check_state an ingest holds is left for the next call (taking both rows
-- SKIP LOCKED: an ingest locks check_state first and then policy_open, in
-- policy_route(), so waiting here could deadlock with it). Returns the
-- notifications made.
CREATE OR REPLACE FUNCTION policy_escalate() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o record;
	l record;
	nsteps integer;
	nxt integer;
	ev bigint;
	c integer;
	made integer := 0;
BEGIN
	FOR o IN SELECT x.check_id, x.policy, x.event_id, x.step, p.steps, p.repeat_s,
			p.match_sel, s.status, s.attempt, k.agent_id
		FROM policy_open x
		JOIN policies p ON p.name = x.policy
		JOIN check_state s ON s.check_id = x.check_id
		JOIN checks k ON k.id = x.check_id
		JOIN agents a ON a.id = k.agent_id
		WHERE k.enabled AND s.state_type = 'HARD' AND s.status > 0
		  AND NOT s.acknowledged AND NOT s.flapping
		  AND (a.state <> 'down' OR k.type = 'heartbeat')
		  AND CASE WHEN x.step + 1 < jsonb_array_length(p.steps)
			THEN x.began_at + make_interval(secs =>
				(p.steps -> (x.step + 1) ->> 'after_s')::double precision) <= now()
			ELSE p.repeat_s > 0 AND x.fired_at + make_interval(secs => p.repeat_s) <= now()
			END
		  AND NOT check_in_downtime(k.id, k.agent_id)
		  AND ((k.parents = '{}' AND a.parents = '{}')
		       OR check_suppressed_by(k.id, k.agent_id) IS NULL)
		ORDER BY x.check_id, x.policy LIMIT 1000
		FOR UPDATE OF x, s SKIP LOCKED
	LOOP
		SELECT * INTO l FROM policy_event_labels(o.agent_id, o.check_id, 'PROBLEM', o.status);
		IF NOT policy_match(l.labels, l.facts, o.match_sel) THEN
			-- the problem is no longer the policy's (CRITICAL fell to WARNING):
			-- its escalation ends; a PROBLEM it matches again starts a new one
			DELETE FROM policy_open x WHERE x.check_id = o.check_id AND x.policy = o.policy;
			CONTINUE;
		END IF;
		nsteps := jsonb_array_length(o.steps);
		IF o.step + 1 < nsteps THEN
			nxt := o.step + 1;
			INSERT INTO notifications (event_id, contact_id, channel, series, policy, step,
				priority, route)
			SELECT o.event_id, r.contact_id, r.channel, o.check_id, o.policy, nxt, r.priority,
				jsonb_build_array(route_entry('escalated', format('from step %s: still open,'
					' unacknowledged and not in downtime %s s after it began (policy %s'
					' step %s%s)', nxt - 1, o.steps -> nxt ->> 'after_s', o.policy, nxt,
					r.via)))
			FROM policy_recipients(o.steps, nxt, nxt, now()) r
			ON CONFLICT (event_id, contact_id, channel) DO NOTHING;
			GET DIAGNOSTICS c = ROW_COUNT;
			UPDATE policy_open x SET step = nxt, fired_at = now()
			WHERE x.check_id = o.check_id AND x.policy = o.policy;
		ELSE
			INSERT INTO events (kind, agent_id, check_id, status, prev_status, state_type,
				attempt, value, output, detail, notify, route)
			SELECT 'RENOTIFY', o.agent_id, o.check_id, o.status, o.status, 'HARD', o.attempt,
				lr.value, lr.output, jsonb_build_object('reason', 'policy repeat',
					'policy', o.policy),
				true, jsonb_build_array(route_entry('repeated', format('policy %s: still open'
					' and unacknowledged, told again every %s s', o.policy, o.repeat_s)))
			FROM (SELECT 1) one LEFT JOIN LATERAL check_last(o.check_id) lr ON true
			RETURNING id INTO ev;
			INSERT INTO notifications (event_id, contact_id, channel, series, policy, step,
				priority, route)
			SELECT ev, r.contact_id, r.channel, o.check_id, o.policy, r.step, r.priority,
				jsonb_build_array(route_entry('repeated', format('policy %s repeats every %s s'
					' after its last step (step %s%s)', o.policy, o.repeat_s, r.step, r.via)))
			FROM policy_recipients(o.steps, 0, nsteps - 1, now()) r;
			GET DIAGNOSTICS c = ROW_COUNT;
			UPDATE policy_open x SET fired_at = now()
			WHERE x.check_id = o.check_id AND x.policy = o.policy;
			UPDATE check_state s SET last_notified_at = now() WHERE s.check_id = o.check_id;
		END IF;
		made := made + c;
	END LOOP;
	IF made > 0 THEN
		PERFORM notify_or_defer('custos_outbox', '');
	END IF;
	RETURN made;
END
$$;
