-- The agent object of the API (/api/v1/agents). clock_skew_s: the last
-- offset seen between the agent's clock and the server's (positive: the
-- agent is ahead); availability over all its checks; labels (set through
-- the API) and agent_labels (declared in its agentd.conf) apart; managed:
-- created by POST /api/v1/config (sql/025_config.sql); parents: checks
-- every check of the agent depends on, by name (sql/035_parents.sql).
CREATE OR REPLACE FUNCTION agent_json(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', a.id, 'name', a.name, 'interval_s', a.interval_s,
		'contacts', to_jsonb(a.contacts), 'facts', a.facts, 'version', a.version,
		'state', a.state, 'created_at', rfc3339(a.created_at),
		'last_checkout_at', rfc3339(a.last_checkout_at),
		'next_checkout_by', rfc3339(a.next_checkout_by),
		'checks_revision', a.checks_revision::text,
		'clock_skew_s', a.clock_skew_s,
		'availability', check_availability(
			ARRAY(SELECT c.id FROM checks c WHERE c.agent_id = a.id)),
		'labels', a.labels, 'agent_labels', a.agent_labels, 'managed', a.managed,
		'parents', CASE WHEN a.parents = '{}' THEN '[]'
			ELSE check_parent_names(a.parents) END)
$$;
