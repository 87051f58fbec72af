-- 034_policies.sql - notification policies with escalation
-- (serverd/api/api_policies.c; the routing is sql/functions/policy_route.sql
-- and policy_escalate.sql; docs/alerting.md, "Policies and escalation").
--
-- A policy picks events by match (the selector language over the labels of
-- the check and its agent, plus the keys agent, check, status and kind) and
-- says who is told, step by step. Policies are tried in the order of
-- position (then name); the first that matches decides, unless it has
-- continue, when the next matching ones apply too. An event no policy
-- matches goes to its check's contacts as before.
--
-- match is the text as written; match_sel its parsed form (lib/selector.c,
-- the jsonb that selector_match() takes), made by the API so that routing
-- never parses. steps: [{"after_s", "notify": [user names or
-- "rotation:NAME"], "channels": [...], "priority"}], after_s ascending,
-- the first 0. urgent: the lowest status that passes quiet hours
-- (1 WARNING, 3 UNKNOWN, 2 CRITICAL; see policy_status_rank()).
CREATE TABLE policies (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	position    integer NOT NULL DEFAULT 0,
	match       text NOT NULL DEFAULT '',
	match_sel   jsonb NOT NULL DEFAULT '[]',
	continue    boolean NOT NULL DEFAULT false,
	steps       jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
	repeat_s    integer NOT NULL DEFAULT 0 CHECK (repeat_s >= 0),
	urgent      smallint NOT NULL DEFAULT 2 CHECK (urgent BETWEEN 1 AND 3),
	managed     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  text,
	updated_at  timestamptz NOT NULL DEFAULT now(),
	updated_by  text
);
CREATE INDEX policies_order_idx ON policies (position, name);

-- A problem a policy took on, for escalation and for the recovery: one row
-- per check and policy while the problem is open. opened_event: the
-- PROBLEM that began it (everyone told since is told of its end);
-- event_id: the newest PROBLEM, which later steps' rows tell of; step: the
-- last step fired; fired_at: when (repeat_s counts from there). began_at
-- is what a step's after_s counts from.
CREATE TABLE policy_open (
	check_id     bigint NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	policy       text NOT NULL REFERENCES policies(name) ON UPDATE CASCADE ON DELETE CASCADE,
	opened_event bigint NOT NULL,
	event_id     bigint NOT NULL,
	began_at     timestamptz NOT NULL DEFAULT now(),
	step         integer NOT NULL DEFAULT 0,
	fired_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (check_id, policy)
);

-- A policy is configuration: apply's version moves with it.
CREATE TRIGGER policies_config AFTER INSERT OR DELETE ON policies
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER policies_config_update AFTER UPDATE OF name, position, match, continue, steps,
	repeat_s, urgent ON policies
	FOR EACH ROW WHEN ((OLD.name, OLD.position, OLD.match, OLD.continue, OLD.steps,
		OLD.repeat_s, OLD.urgent) IS DISTINCT FROM (NEW.name, NEW.position, NEW.match,
		NEW.continue, NEW.steps, NEW.repeat_s, NEW.urgent))
	EXECUTE FUNCTION config_bump();

-- The Pushover priority a policy's step asks for (-2..2; NULL: the
-- channel's own choice, notify_pushover.c).
ALTER TABLE notifications ADD COLUMN priority smallint CHECK (priority BETWEEN -2 AND 2);
