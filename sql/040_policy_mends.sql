-- 040_policy_mends.sql - policies for agents, and what the outbox's
-- storm test reads (docs/alerting.md, "Policies and escalation",
-- "Dependencies").
--
-- An agent that stays DOWN escalates as a check's problem does: its AGENT
-- DOWN opens a policy's row in policy_open (sql/functions/policy_route.sql)
-- with agent_id set and check_id NULL, and policy_escalate() fires the
-- later steps and the repeats from it until the agent is up again. One of
-- the two is set; each names the row with the policy (NULLs are distinct,
-- so the two unique keys do not meet).
ALTER TABLE policy_open DROP CONSTRAINT policy_open_pkey;
ALTER TABLE policy_open ALTER COLUMN check_id DROP NOT NULL;
ALTER TABLE policy_open ADD COLUMN agent_id bigint REFERENCES agents(id) ON DELETE CASCADE;
ALTER TABLE policy_open ADD CONSTRAINT policy_open_one CHECK ((check_id IS NULL) <> (agent_id IS NULL));
ALTER TABLE policy_open ADD CONSTRAINT policy_open_check_key UNIQUE (check_id, policy);
ALTER TABLE policy_open ADD CONSTRAINT policy_open_agent_key UNIQUE (agent_id, policy);

-- A row made for a child's event that its parent's recovery brought (the
-- event's routing record says "parent recovered", serverd/alert/alert.c):
-- the storm test (serverd/notify/outbox.c, q_group_probe) sends those of
-- one recovery to one person on one channel as one digest at once, and
-- reads this instead of joining every first send to its event. Rows made
-- before it are false: they were sent long ago.
ALTER TABLE notifications ADD COLUMN parent_recovered boolean NOT NULL DEFAULT false;

