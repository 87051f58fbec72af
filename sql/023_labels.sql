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

-- The selector evaluator is selector_match(), with agent_selected() and
-- check_selected(); the agent object gains "labels" and "agent_labels", the
-- check object its own "labels" (agent_json(), check_json()); all in
-- sql/functions/. check_def_json(), what agents download, has no labels.
