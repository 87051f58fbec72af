-- policy_event_labels(agent, check, kind, status) - what a policy's match
-- is tested against (policy_match()): the check's effective labels (its
-- agent's, then its own, as check_selected() has them; an agent event:
-- the agent's) with the keys agent, check, kind and status set over them,
-- and the agent's facts. PL/pgSQL, so that its plan is made once per
-- connection: called from policy_route() for every notified event, an SQL
-- function's body was planned at each call.
CREATE OR REPLACE FUNCTION policy_event_labels(e_agent bigint, e_check bigint, e_kind text,
	e_status smallint, OUT labels jsonb, OUT facts jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT COALESCE(a.agent_labels || a.labels, '{}') || COALESCE(c.labels, '{}')
		|| jsonb_strip_nulls(jsonb_build_object('agent', a.name, 'check', c.name,
			'kind', e_kind, 'status', status_name(e_status))),
		COALESCE(a.facts, '{}')
	INTO labels, facts
	FROM (SELECT 1) one
	LEFT JOIN checks c ON c.id = e_check
	LEFT JOIN agents a ON a.id = COALESCE(c.agent_id, e_agent);
END
$$;
