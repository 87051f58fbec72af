-- policy_route(event, kind, agent, check, status, prev_status) - the
-- notifications the policies make for one event being recorded (called
-- by alert_record()'s statement, serverd/alert/alert.c, for each event
-- that is notified; docs/alerting.md, "Policies and escalation").
--
-- No rows: no policy took the event, and its contacts are told as
-- before. Otherwise a row per person and channel told, with the policy,
-- the step and the first routing decision, and one row with r_contact
-- NULL that says a policy took it (so the contacts are not told, even
-- when no step reaches anybody now) and whose r_route is the event's own
-- routing record's decisions (an array: one per policy that took it).
--
--   - the RECOVERY or ACKNOWLEDGEMENT of a problem a policy took on (the
--     AGENT UP of an agent whose AGENT DOWN it took on) goes to everyone
--     told about the problem since it began, on each channel they were
--     told on, whatever the step (a RECOVERY, an AGENT UP closes it);
--   - otherwise the policies are tried in order (position, name): a
--     policy whose match holds tells the recipients of its steps with
--     after_s 0 (of the steps fired so far, for a PROBLEM that changes
--     the status of one still open), and the next ones are tried only
--     when it has continue;
--   - a PROBLEM of a check, an AGENT DOWN of an agent, opens (or carries
--     on) the policy's row in policy_open, from which policy_escalate()
--     fires the later steps.
--
-- It is called before the event's row is written, with the id the row
-- will have (alert.c takes it from the sequence first): the row is
-- written once, with this decision or, when no policy took the event, the
-- contacts' (event_contacts_told()) - never one written and then taken
-- back. It writes policy_open: it is VOLATILE, and the statement that
-- calls it must not read policy_open.
CREATE OR REPLACE FUNCTION policy_route(e_id bigint, e_kind text, e_agent bigint,
	e_check bigint, e_status smallint, e_prev smallint)
RETURNS TABLE (r_contact bigint, r_channel text, r_policy text, r_step integer,
	r_priority smallint, r_route jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	p policies;
	o policy_open;
	lab jsonb;
	fac jsonb;
	matched boolean := false;
	last integer;
	told integer;
	ev_route jsonb := '[]';
BEGIN
	IF NOT EXISTS (SELECT 1 FROM policies) THEN
		RETURN;
	END IF;
	IF (e_kind IN ('RECOVERY', 'ACKNOWLEDGEMENT') AND e_check IS NOT NULL)
	   OR (e_kind = 'AGENT UP' AND e_check IS NULL) THEN
		-- an agent's rows: series -agent (alert.c), policy_open.agent_id
		FOR o IN SELECT * FROM policy_open x
			WHERE (e_check IS NOT NULL AND x.check_id = e_check)
			   OR (e_check IS NULL AND x.agent_id = e_agent)
			ORDER BY x.policy LOOP
			matched := true;
			RETURN QUERY SELECT DISTINCT ON (n.contact_id, n.channel) n.contact_id, n.channel,
				o.policy, n.step, NULL::smallint,
				jsonb_build_array(route_entry('policy', format('%s: to everyone told about'
					' the problem (policy %s, told at step %s)', e_kind, o.policy, n.step)))
			FROM notifications n
			WHERE n.series = COALESCE(e_check, -e_agent) AND n.policy = o.policy
			  AND n.event_id >= o.opened_event AND n.contact_id IS NOT NULL
			ORDER BY n.contact_id, n.channel, n.step DESC;
		END LOOP;
		IF matched THEN
			ev_route := jsonb_build_array(route_entry('policy',
				format('%s: to everyone told about the problem (policy %s)', e_kind,
				(SELECT string_agg(x.policy, ', ' ORDER BY x.policy) FROM policy_open x
				WHERE (e_check IS NOT NULL AND x.check_id = e_check)
				   OR (e_check IS NULL AND x.agent_id = e_agent)))));
			IF e_kind = 'RECOVERY' THEN
				DELETE FROM policy_open x WHERE x.check_id = e_check;
			ELSIF e_kind = 'AGENT UP' THEN
				DELETE FROM policy_open x WHERE x.agent_id = e_agent;
			END IF;
			RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, NULL::integer,
				NULL::smallint, ev_route;
			RETURN;
		END IF;
	END IF;
	SELECT x.labels, x.facts INTO lab, fac
	FROM policy_event_labels(e_agent, e_check, e_kind, e_status) x;
	FOR p IN SELECT * FROM policies x ORDER BY x.position, x.name LOOP
		CONTINUE WHEN NOT policy_match(lab, fac, p.match_sel);
		matched := true;
		last := 0;
		IF e_kind = 'PROBLEM' AND e_check IS NOT NULL THEN
			SELECT * INTO o FROM policy_open x WHERE x.check_id = e_check AND x.policy = p.name
			FOR UPDATE;
			IF FOUND AND COALESCE(e_prev, 0) > 0 THEN
				-- the status of an open problem changed: it stays the same problem
				last := o.step;
				UPDATE policy_open x SET event_id = e_id
				WHERE x.check_id = e_check AND x.policy = p.name;
			ELSE
				INSERT INTO policy_open AS x (check_id, policy, opened_event, event_id)
				VALUES (e_check, p.name, e_id, e_id)
				ON CONFLICT (check_id, policy) DO UPDATE SET opened_event = e_id,
					event_id = e_id, began_at = now(), step = 0, fired_at = now();
			END IF;
		ELSIF e_kind = 'AGENT DOWN' AND e_check IS NULL THEN
			-- an agent that goes down (again) begins a new escalation
			INSERT INTO policy_open AS x (agent_id, policy, opened_event, event_id)
			VALUES (e_agent, p.name, e_id, e_id)
			ON CONFLICT (agent_id, policy) DO UPDATE SET opened_event = e_id,
				event_id = e_id, began_at = now(), step = 0, fired_at = now();
		END IF;
		RETURN QUERY SELECT r.contact_id, r.channel, p.name, r.step, r.priority,
			jsonb_build_array(route_entry('policy', format('matched policy %s step %s%s',
				p.name, r.step, r.via)))
		FROM policy_recipients(p.steps, 0, last, now()) r;
		GET DIAGNOSTICS told = ROW_COUNT;
		-- on the event too: a policy that reached nobody leaves no row to say it
		ev_route := ev_route || jsonb_build_array(route_entry('policy',
			format('matched policy %s%s', p.name, CASE WHEN told = 0
				THEN ': nobody to tell (no user of its steps has an address on their'
				' channels, or no one is on call)'
				ELSE format(' (%s notification%s)', told, CASE WHEN told = 1 THEN ''
				ELSE 's' END) END)));
		EXIT WHEN NOT p.continue;
	END LOOP;
	IF matched THEN
		RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, NULL::integer,
			NULL::smallint, ev_route;
	END IF;
END
$$;
