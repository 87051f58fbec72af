-- 023_labels.sql - labels on agents and checks, and the selector evaluator.
--
-- An agent has two label sets: "labels", set through the API (POST/PATCH
-- /api/v1/agents), and "agent_labels", the ones its agentd.conf declares,
-- replaced whole at every checkout that carries them. The agent's effective
-- labels are agent_labels || labels: a key set through the API wins over
-- the same key from the agent's file, so the server side has the last word
-- and the host still describes itself. A check's effective labels are its
-- agent's effective labels || its own (the check's win). The API validates
-- keys and values (lib/selector.h); the CHECKs here only keep the type.

ALTER TABLE agents ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(labels) = 'object');
ALTER TABLE agents ADD COLUMN agent_labels jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(agent_labels) = 'object');
ALTER TABLE checks ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(labels) = 'object');

-- A parsed selector arrives as one jsonb parameter (serverd/api/apiutil.c,
-- api_selector()): an array of requirements
--   {"key": K, "fact": true|false, "op": "in"|"notin"|"exists"|"!exists",
--    "values": [V, ...]}
-- with a fact's path already split ({"key": ["interfaces", "eth0"]}). No
-- user text is ever part of the SQL: the statements are fixed and prepared.
-- A fact compares as its text (#>>): "4" selects the number 4 too.
CREATE FUNCTION selector_match(labels jsonb, facts jsonb, sel jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT NOT EXISTS (
		SELECT FROM jsonb_array_elements(sel) r
		CROSS JOIN LATERAL (SELECT CASE WHEN (r->>'fact')::boolean
			THEN facts #>> ARRAY(SELECT jsonb_array_elements_text(r->'key'))
			ELSE labels ->> (r->>'key') END AS v) x
		WHERE NOT CASE r->>'op'
			WHEN 'in' THEN x.v IS NOT NULL AND (r->'values') ? x.v
			WHEN 'notin' THEN x.v IS NULL OR NOT (r->'values') ? x.v
			WHEN 'exists' THEN x.v IS NOT NULL
			WHEN '!exists' THEN x.v IS NULL
		END)
$$;

-- Does the agent / the check answer to the selector? (?selector= on the
-- lists and /status.)
CREATE FUNCTION agent_selected(a agents, sel jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT selector_match(a.agent_labels || a.labels, a.facts, sel)
$$;
CREATE FUNCTION check_selected(check_id bigint, sel jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT FROM checks c JOIN agents a ON a.id = c.agent_id
		WHERE c.id = check_id
		AND selector_match(a.agent_labels || a.labels || c.labels, a.facts, sel))
$$;

-- The JSON of an agent gains "labels" and "agent_labels", a check's
-- "labels" (its own; the agent's are on the agent). Wrapped as 005 did, so
-- this changes nothing else. check_def_json(), what agents download, is
-- left as it was.
ALTER FUNCTION agent_json(agents) RENAME TO agent_json_before_023;
CREATE FUNCTION agent_json(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT agent_json_before_023(a) ||
		jsonb_build_object('labels', a.labels, 'agent_labels', a.agent_labels)
$$;
ALTER FUNCTION check_json(checks) RENAME TO check_json_before_023;
CREATE FUNCTION check_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT check_json_before_023(c) || jsonb_build_object('labels', c.labels)
$$;
