-- 001_init.sql - the custos schema. Applied once, inside one transaction,
-- by custos-serverd --migrate (or at start); recorded in schema_migrations.

CREATE TABLE api_tokens (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	role        text NOT NULL CHECK (role IN ('admin', 'viewer')),
	token_hash  bytea NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
	id                  bigserial PRIMARY KEY,
	name                text NOT NULL UNIQUE,
	email               text,
	pushover_user       text,
	pushover_device     text,
	pushover_emergency  boolean NOT NULL DEFAULT false,
	webhook_url         text,
	notify_on           text[] NOT NULL DEFAULT ARRAY['warning','critical','unknown',
	                      'recovery','flapping','agent','acknowledgement'],
	created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
	id                bigserial PRIMARY KEY,
	name              text NOT NULL UNIQUE,
	token_hash        bytea NOT NULL UNIQUE,
	interval_s        integer NOT NULL DEFAULT 60 CHECK (interval_s BETWEEN 5 AND 86400),
	contacts          bigint[],
	facts             jsonb,
	version           text,
	state             text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'up', 'down')),
	created_at        timestamptz NOT NULL DEFAULT now(),
	last_checkout_at  timestamptz,
	next_checkout_by  timestamptz,
	checks_revision   bigint NOT NULL DEFAULT 1
);

CREATE TABLE checks (
	id            bigserial PRIMARY KEY,
	agent_id      bigint NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	name          text NOT NULL,
	type          text NOT NULL,
	params        jsonb NOT NULL DEFAULT '{}',
	warning       text,
	critical      text,
	max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
	enabled       boolean NOT NULL DEFAULT true,
	contacts      bigint[],
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (agent_id, name)
);
CREATE INDEX checks_agent_idx ON checks (agent_id);

-- Any change to an agent's checks bumps its revision: the ETag of
-- GET /api/v1/agent/self/checks, so agents re-download only on change.
CREATE FUNCTION checks_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE agents SET checks_revision = checks_revision + 1 WHERE id = OLD.agent_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.agent_id <> OLD.agent_id) THEN
		UPDATE agents SET checks_revision = checks_revision + 1 WHERE id = NEW.agent_id;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER checks_revision AFTER INSERT OR UPDATE OR DELETE ON checks
	FOR EACH ROW EXECUTE FUNCTION checks_bump_revision();

-- One row per check: the current alerting state, updated in the transaction
-- that stores the results, and only when it changes: a steady check costs an
-- INSERT into check_history and nothing else. The newest result (output,
-- value, perfdata, observed_at) is read from check_history (check_last()).
-- status NULL = no result yet (PENDING).
CREATE TABLE check_state (
	check_id          bigint PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	agent_id          bigint NOT NULL,   -- the check's, kept here for ingest's steady test
	status            smallint CHECK (status BETWEEN 0 AND 3),
	state_type        text NOT NULL DEFAULT 'HARD' CHECK (state_type IN ('SOFT', 'HARD')),
	attempt           integer NOT NULL DEFAULT 0,
	hard_status       smallint NOT NULL DEFAULT 0,     -- last HARD status
	since             timestamptz,                     -- when status last changed
	acknowledged      boolean NOT NULL DEFAULT false,
	ack_comment       text,
	ack_sticky        boolean NOT NULL DEFAULT true,
	ack_expires_at    timestamptz,
	flapping          boolean NOT NULL DEFAULT false,
	flap_history      text NOT NULL DEFAULT '',        -- last 20 transitions ('1' = change), see engine.h
	flap_pct          real NOT NULL DEFAULT 0,
	last_notified_at  timestamptz,
	notified_status   smallint,                        -- HARD status last told to contacts
	updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION checks_create_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO check_state (check_id, agent_id) VALUES (NEW.id, NEW.agent_id);
	ELSE
		UPDATE check_state SET agent_id = NEW.agent_id WHERE check_id = NEW.id;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER checks_state AFTER INSERT ON checks
	FOR EACH ROW EXECUTE FUNCTION checks_create_state();
CREATE TRIGGER checks_state_agent AFTER UPDATE OF agent_id ON checks
	FOR EACH ROW WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id)
	EXECUTE FUNCTION checks_create_state();

-- Every result, as posted. result_id is the agent's own id for a result; a
-- resend of the same result_id is a duplicate and is not stored again.
-- No foreign key on check_id: ingest already verifies every check (and
-- locks its agent), and a per-row RI check would cost more than the insert.
-- Deleting a check deletes its history through the trigger below.
CREATE TABLE check_history (
	id           bigserial PRIMARY KEY,
	check_id     bigint NOT NULL,
	agent_id     bigint NOT NULL,
	status       smallint NOT NULL CHECK (status BETWEEN 0 AND 3),
	value        double precision,
	output       text NOT NULL DEFAULT '',
	perfdata     text,
	observed_at  timestamptz NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	duration_ms  integer,
	result_id    text
);
CREATE INDEX check_history_check_idx ON check_history (check_id, observed_at DESC, id DESC);
CREATE UNIQUE INDEX check_history_result_idx ON check_history (agent_id, result_id)
	WHERE result_id IS NOT NULL;

-- The newest result of a check (by observed_at), through the history index.
CREATE FUNCTION check_last(check_id bigint) RETURNS check_history
LANGUAGE sql STABLE AS $$
	SELECT * FROM check_history h WHERE h.check_id = $1
	ORDER BY h.observed_at DESC, h.id DESC LIMIT 1
$$;

CREATE FUNCTION checks_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM check_history WHERE check_id = OLD.id;
	RETURN NULL;
END $$;
CREATE TRIGGER checks_history AFTER DELETE ON checks
	FOR EACH ROW EXECUTE FUNCTION checks_delete_history();

-- Alert-worthy happenings: HARD state changes, recoveries, flapping,
-- acknowledgements, downtimes, agents going down and up, re-notifications.
CREATE TABLE events (
	id           bigserial PRIMARY KEY,
	created_at   timestamptz NOT NULL DEFAULT now(),
	kind         text NOT NULL,
	agent_id     bigint,
	check_id     bigint,
	status       smallint,
	prev_status  smallint,
	state_type   text,
	attempt      integer,
	value        double precision,
	output       text,
	notify       boolean NOT NULL DEFAULT true,   -- false when suppressed
	detail       jsonb
);
CREATE INDEX events_check_idx ON events (check_id, id);

CREATE TABLE downtimes (
	id          bigserial PRIMARY KEY,
	agent_id    bigint REFERENCES agents(id) ON DELETE CASCADE,
	check_id    bigint REFERENCES checks(id) ON DELETE CASCADE,
	start_at    timestamptz NOT NULL,
	end_at      timestamptz NOT NULL,
	comment     text NOT NULL DEFAULT '',
	started     boolean NOT NULL DEFAULT false,   -- DOWNTIME START event emitted
	ended       boolean NOT NULL DEFAULT false,   -- DOWNTIME END handled
	created_at  timestamptz NOT NULL DEFAULT now(),
	CHECK ((agent_id IS NULL) <> (check_id IS NULL)),
	CHECK (end_at > start_at)
);

-- The outbox: one row per event x contact x channel. Senders claim rows
-- with FOR UPDATE SKIP LOCKED; every attempt is recorded.
CREATE TABLE notifications (
	id               bigserial PRIMARY KEY,
	event_id         bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	contact_id       bigint REFERENCES contacts(id) ON DELETE SET NULL,
	channel          text NOT NULL CHECK (channel IN ('email', 'pushover', 'webhook')),
	status           text NOT NULL DEFAULT 'pending'
	                   CHECK (status IN ('pending', 'sent', 'failed')),
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	last_error       text,
	created_at       timestamptz NOT NULL DEFAULT now(),
	sent_at          timestamptz,
	UNIQUE (event_id, contact_id, channel)
);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at)
	WHERE status = 'pending';

CREATE TABLE notification_attempts (
	id               bigserial PRIMARY KEY,
	notification_id  bigint NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
	at               timestamptz NOT NULL DEFAULT now(),
	ok               boolean NOT NULL,
	error            text
);

-- JSON shapes of the API, built where the data is. Timestamps are RFC 3339
-- in UTC with microseconds; states use their names on the wire.
CREATE FUNCTION rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT regexp_replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
		'\.000000$', '') || 'Z'
$$;

CREATE FUNCTION status_name(s smallint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT (ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'])[s + 1]
$$;

CREATE FUNCTION agent_json(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', a.id, 'name', a.name, 'interval_s', a.interval_s,
		'contacts', to_jsonb(a.contacts), 'facts', a.facts, 'version', a.version,
		'state', a.state, 'created_at', rfc3339(a.created_at),
		'last_checkout_at', rfc3339(a.last_checkout_at),
		'next_checkout_by', rfc3339(a.next_checkout_by),
		'checks_revision', a.checks_revision::text)
$$;

-- in_downtime: an active downtime on the check or on its agent
CREATE FUNCTION check_in_downtime(check_id bigint, agent_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM downtimes d
		WHERE (d.check_id = $1 OR d.agent_id = $2)
		  AND d.start_at <= now() AND d.end_at > now())
$$;

CREATE FUNCTION check_state_json(s check_state, agent_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'status', status_name(s.status), 'state_type', s.state_type,
		'attempt', s.attempt, 'since', rfc3339(s.since),
		'last_result_at', rfc3339(l.observed_at), 'output', l.output,
		'value', l.value, 'perfdata', l.perfdata, 'acknowledged', s.acknowledged,
		'in_downtime', check_in_downtime(s.check_id, agent_id),
		'flapping', s.flapping, 'flap_pct', s.flap_pct,
		'last_notified_at', rfc3339(s.last_notified_at))
	FROM (SELECT (check_last(s.check_id)).*) l
$$;

-- the definition only: what the agent downloads
CREATE FUNCTION check_def_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', c.id, 'agent_id', c.agent_id, 'name', c.name, 'type', c.type,
		'params', c.params, 'warning', c.warning, 'critical', c.critical,
		'max_attempts', c.max_attempts, 'enabled', c.enabled,
		'contacts', to_jsonb(c.contacts),
		'created_at', rfc3339(c.created_at), 'updated_at', rfc3339(c.updated_at))
$$;

CREATE FUNCTION check_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT check_def_json(c) || jsonb_build_object('state',
		(SELECT check_state_json(s, c.agent_id) FROM check_state s WHERE s.check_id = c.id))
$$;
