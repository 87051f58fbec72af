-- 039_templates.sql - check templates chosen by labels and facts
-- (docs/config-as-code.md, "Templates").
--
-- A template is a name, a selector (the text as written, and parsed into
-- the jsonb selector_match() takes) and check definitions. It is never
-- run itself: every agent its selector picks has real checks rows made
-- from it, marked with checks.template, which template_sync()
-- (sql/functions/template_sync.sql) keeps in step. The triggers below
-- call it in the transaction that changed a template or an agent's
-- labels or facts, whichever route did it (the API, apply, a checkout, a
-- download), so a change and its checks commit together or not at all.
CREATE TABLE templates (
	id            bigserial PRIMARY KEY,
	name          text NOT NULL UNIQUE,
	selector      text NOT NULL,
	selector_json jsonb NOT NULL CHECK (jsonb_typeof(selector_json) = 'array'),
	-- [{name, type, params, warning, critical, max_attempts, enabled,
	--   contacts (ids or null), labels}], validated by the API
	checks        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(checks) = 'array'),
	managed       boolean NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A template's check: deleted with its template (ON DELETE CASCADE).
-- overrides: the fields of it an admin set on the check itself (PATCH
-- /api/v1/checks/ID); they win over the template's, and survive its updates.
ALTER TABLE checks ADD COLUMN template text
	REFERENCES templates(name) ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE checks ADD COLUMN overrides jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(overrides) = 'object');
CREATE INDEX checks_template ON checks (template) WHERE template IS NOT NULL;

-- Stand-ins: the bodies are in sql/functions/ (templates_sync_trigger.sql,
-- agents_templates_trigger.sql).
CREATE FUNCTION templates_sync_trigger() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE FUNCTION agents_templates_trigger() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';

CREATE TRIGGER templates_sync AFTER INSERT OR UPDATE OF selector_json, checks ON templates
	FOR EACH ROW EXECUTE FUNCTION templates_sync_trigger();
CREATE TRIGGER templates_config AFTER INSERT OR DELETE ON templates
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER templates_config_update AFTER UPDATE OF name, selector, checks ON templates
	FOR EACH ROW WHEN ((OLD.name, OLD.selector, OLD.checks)
		IS DISTINCT FROM (NEW.name, NEW.selector, NEW.checks))
	EXECUTE FUNCTION config_bump();
CREATE TRIGGER agents_templates_insert AFTER INSERT ON agents
	FOR EACH ROW EXECUTE FUNCTION agents_templates_trigger();
CREATE TRIGGER agents_templates_update AFTER UPDATE OF labels, agent_labels, facts ON agents
	FOR EACH ROW WHEN ((OLD.labels, OLD.agent_labels, OLD.facts)
		IS DISTINCT FROM (NEW.labels, NEW.agent_labels, NEW.facts))
	EXECUTE FUNCTION agents_templates_trigger();

-- A recurring downtime in a file (kind: downtime with "recurring"): a
-- name to find it again, and managed, as downtimes have (025_config.sql).
-- Names are unique among the definitions; apply keeps them apart from the
-- one-off downtimes' by the "recurring" member.
ALTER TABLE downtime_recurring ADD COLUMN name text UNIQUE;
ALTER TABLE downtime_recurring ADD COLUMN managed boolean NOT NULL DEFAULT false;
CREATE TRIGGER downtime_recurring_config AFTER INSERT OR DELETE ON downtime_recurring
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER downtime_recurring_config_update AFTER UPDATE OF agent_id, check_id, recurring,
	tz, comment, name ON downtime_recurring
	FOR EACH ROW WHEN ((OLD.agent_id, OLD.check_id, OLD.recurring, OLD.tz, OLD.comment, OLD.name)
		IS DISTINCT FROM (NEW.agent_id, NEW.check_id, NEW.recurring, NEW.tz, NEW.comment,
		NEW.name))
	EXECUTE FUNCTION config_bump();
