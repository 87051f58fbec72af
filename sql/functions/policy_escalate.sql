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
-- policy_route(), so waiting here could deadlock with it).
--
-- An agent's row (policy_open.agent_id: its AGENT DOWN was the policy's)
-- escalates the same way while the agent is still down, not in downtime,
-- no parent of it a HARD problem, and still matched: a step tells of the
-- AGENT DOWN; a repeat is a new AGENT DOWN event (detail.reason "policy
-- repeat"; an agent has no RENOTIFY, whose message is a check's problem).
-- Its AGENT UP, in the checkout that marks it up, tells everyone told and
-- deletes the row (policy_route()); a row whose agent is up without that
-- (its AGENT UP was not notified: a downtime) is deleted here. The agent's
-- row is taken FOR SHARE SKIP LOCKED: a checkout locks it before it
-- records AGENT UP, so a step is never made after the AGENT UP that
-- should have told its person. Returns the notifications made.
CREATE OR REPLACE FUNCTION policy_escalate() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	o record;
	g record;
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
			-- a step telling of a PROBLEM its parent's recovery brought is one
			-- of those rows too (parent_recovered, the outbox's storm test)
			INSERT INTO notifications (event_id, contact_id, channel, series, policy, step,
				priority, route, parent_recovered)
			SELECT o.event_id, r.contact_id, r.channel, o.check_id, o.policy, nxt, r.priority,
				jsonb_build_array(route_entry('escalated', format('from step %s: still open,'
					' unacknowledged and not in downtime %s s after it began (policy %s'
					' step %s%s)', nxt - 1, o.steps -> nxt ->> 'after_s', o.policy, nxt,
					r.via))), COALESCE(pe.parent_recovered, false)
			FROM policy_recipients(o.steps, nxt, nxt, now()) r
			LEFT JOIN (SELECT e.route @> '[{"decision": "parent recovered"}]'
				AS parent_recovered FROM events e WHERE e.id = o.event_id) pe ON true
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
	FOR g IN SELECT x.agent_id, x.policy, x.event_id, x.step, p.steps, p.repeat_s,
			p.match_sel, a.state
		FROM policy_open x
		JOIN policies p ON p.name = x.policy
		JOIN agents a ON a.id = x.agent_id
		WHERE x.agent_id IS NOT NULL
		  AND (a.state <> 'down' OR CASE WHEN x.step + 1 < jsonb_array_length(p.steps)
			THEN x.began_at + make_interval(secs =>
				(p.steps -> (x.step + 1) ->> 'after_s')::double precision) <= now()
			ELSE p.repeat_s > 0 AND x.fired_at + make_interval(secs => p.repeat_s) <= now()
			END)
		ORDER BY x.agent_id, x.policy LIMIT 1000
		FOR UPDATE OF x SKIP LOCKED FOR SHARE OF a SKIP LOCKED
	LOOP
		IF g.state <> 'down' THEN
			-- up again without a notified AGENT UP: nothing left to escalate
			DELETE FROM policy_open x WHERE x.agent_id = g.agent_id AND x.policy = g.policy;
			CONTINUE;
		END IF;
		CONTINUE WHEN check_in_downtime(NULL, g.agent_id)
			OR check_suppressed_by(NULL, g.agent_id) IS NOT NULL;
		SELECT * INTO l FROM policy_event_labels(g.agent_id, NULL, 'AGENT DOWN', NULL);
		IF NOT policy_match(l.labels, l.facts, g.match_sel) THEN
			DELETE FROM policy_open x WHERE x.agent_id = g.agent_id AND x.policy = g.policy;
			CONTINUE;
		END IF;
		nsteps := jsonb_array_length(g.steps);
		IF g.step + 1 < nsteps THEN
			nxt := g.step + 1;
			INSERT INTO notifications (event_id, contact_id, channel, series, policy, step,
				priority, route)
			SELECT g.event_id, r.contact_id, r.channel, -g.agent_id, g.policy, nxt, r.priority,
				jsonb_build_array(route_entry('escalated', format('from step %s: still down'
					' and not in downtime %s s after it went down (policy %s step %s%s)',
					nxt - 1, g.steps -> nxt ->> 'after_s', g.policy, nxt, r.via)))
			FROM policy_recipients(g.steps, nxt, nxt, now()) r
			ON CONFLICT (event_id, contact_id, channel) DO NOTHING;
			GET DIAGNOSTICS c = ROW_COUNT;
			UPDATE policy_open x SET step = nxt, fired_at = now()
			WHERE x.agent_id = g.agent_id AND x.policy = g.policy;
		ELSE
			INSERT INTO events (kind, agent_id, status, output, detail, notify, route)
			SELECT 'AGENT DOWN', g.agent_id, e.status, e.output,
				jsonb_build_object('reason', 'policy repeat', 'policy', g.policy),
				true, jsonb_build_array(route_entry('repeated', format('policy %s: still'
					' down, told again every %s s', g.policy, g.repeat_s)))
			FROM events e WHERE e.id = g.event_id
			RETURNING id INTO ev;
			INSERT INTO notifications (event_id, contact_id, channel, series, policy, step,
				priority, route)
			SELECT ev, r.contact_id, r.channel, -g.agent_id, g.policy, r.step, r.priority,
				jsonb_build_array(route_entry('repeated', format('policy %s repeats every %s s'
					' after its last step (step %s%s)', g.policy, g.repeat_s, r.step, r.via)))
			FROM policy_recipients(g.steps, 0, nsteps - 1, now()) r;
			GET DIAGNOSTICS c = ROW_COUNT;
			UPDATE policy_open x SET fired_at = now()
			WHERE x.agent_id = g.agent_id AND x.policy = g.policy;
		END IF;
		made := made + c;
	END LOOP;
	IF made > 0 THEN
		PERFORM notify_or_defer('custos_outbox', '');
	END IF;
	RETURN made;
END
$$;
