-- 025_config.sql - monitoring as code (POST /api/v1/config, custos apply;
-- docs/config-as-code.md).
--
-- "managed": the object was created by apply. Only such objects are ever
-- pruned (?prune=1 deletes the managed objects a set no longer names);
-- one made by hand keeps false for good, even when a set names it later
-- and apply updates it.
ALTER TABLE agents ADD COLUMN managed boolean NOT NULL DEFAULT false;
ALTER TABLE checks ADD COLUMN managed boolean NOT NULL DEFAULT false;
ALTER TABLE contacts ADD COLUMN managed boolean NOT NULL DEFAULT false;
ALTER TABLE downtimes ADD COLUMN managed boolean NOT NULL DEFAULT false;
-- A downtime in a file needs a name to be found again; one made by hand
-- (POST /api/v1/downtimes) has none and is not part of the configuration.
ALTER TABLE downtimes ADD COLUMN name text UNIQUE;

-- The configuration's version: one counter, bumped once by every
-- transaction that changes a definition (an agent, a check, a contact or
-- user, a downtime), whichever route made it: apply plans against a
-- version and ?expect=VERSION refuses (409) to apply a plan made before
-- somebody else's change. apply locks this row first (SELECT ... FOR
-- UPDATE), so the version it checked is the one it changes. What agents
-- and serverd write by themselves (checkouts, facts, agent_labels,
-- states, a downtime's started/ended) is not a definition and bumps
-- nothing. changed_by: who applied (custos.actor, set by apply); NULL
-- after a change through the ordinary routes.
CREATE TABLE config_version (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	version     bigint NOT NULL DEFAULT 1,
	changed_at  timestamptz NOT NULL DEFAULT now(),
	changed_by  text,
	xact        xid8
);
INSERT INTO config_version DEFAULT VALUES;

-- Row triggers (so an UPDATE that changes nothing, or a DELETE of no row,
-- bumps nothing); config_bump() (sql/functions/config_bump.sql) bumps once
-- per transaction. A stand-in for the triggers: the body is the file's.
CREATE FUNCTION config_bump() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';

CREATE TRIGGER agents_config AFTER INSERT OR DELETE ON agents
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER agents_config_update AFTER UPDATE OF name, interval_s, contacts, labels ON agents
	FOR EACH ROW WHEN ((OLD.name, OLD.interval_s, OLD.contacts, OLD.labels)
		IS DISTINCT FROM (NEW.name, NEW.interval_s, NEW.contacts, NEW.labels))
	EXECUTE FUNCTION config_bump();
CREATE TRIGGER checks_config AFTER INSERT OR DELETE ON checks
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER checks_config_update AFTER UPDATE OF agent_id, name, type, params, warning,
	critical, max_attempts, enabled, contacts, labels ON checks
	FOR EACH ROW WHEN ((OLD.agent_id, OLD.name, OLD.type, OLD.params, OLD.warning,
		OLD.critical, OLD.max_attempts, OLD.enabled, OLD.contacts, OLD.labels)
		IS DISTINCT FROM (NEW.agent_id, NEW.name, NEW.type, NEW.params, NEW.warning,
		NEW.critical, NEW.max_attempts, NEW.enabled, NEW.contacts, NEW.labels))
	EXECUTE FUNCTION config_bump();
CREATE TRIGGER contacts_config AFTER INSERT OR DELETE ON contacts
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER contacts_config_update AFTER UPDATE OF name, email, pushover_user,
	pushover_device, pushover_emergency, webhook_url, notify_on, role, tz ON contacts
	FOR EACH ROW WHEN ((OLD.name, OLD.email, OLD.pushover_user, OLD.pushover_device,
		OLD.pushover_emergency, OLD.webhook_url, OLD.notify_on, OLD.role, OLD.tz)
		IS DISTINCT FROM (NEW.name, NEW.email, NEW.pushover_user, NEW.pushover_device,
		NEW.pushover_emergency, NEW.webhook_url, NEW.notify_on, NEW.role, NEW.tz))
	EXECUTE FUNCTION config_bump();
CREATE TRIGGER downtimes_config AFTER INSERT OR DELETE ON downtimes
	FOR EACH ROW EXECUTE FUNCTION config_bump();
CREATE TRIGGER downtimes_config_update AFTER UPDATE OF agent_id, check_id, start_at, end_at,
	comment, name ON downtimes
	FOR EACH ROW WHEN ((OLD.agent_id, OLD.check_id, OLD.start_at, OLD.end_at, OLD.comment,
		OLD.name) IS DISTINCT FROM (NEW.agent_id, NEW.check_id, NEW.start_at, NEW.end_at,
		NEW.comment, NEW.name))
	EXECUTE FUNCTION config_bump();
