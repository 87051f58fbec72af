-- 001_init.sql - the custos schema. Applied once, inside one transaction,
-- by custos-serverd --migrate (or at start); recorded in schema_migrations.
-- Functions are not kept here: each is a file of sql/functions/, applied
-- after the migrations at every start (docs/hacking.md).

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
-- a stand-in for the trigger: the body is sql/functions/checks_bump_revision.sql
CREATE FUNCTION checks_bump_revision() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
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

-- a stand-in for the trigger: the body is sql/functions/checks_create_state.sql
CREATE FUNCTION checks_create_state() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
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

-- a stand-in for the trigger: the body is sql/functions/checks_delete_history.sql
CREATE FUNCTION checks_delete_history() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
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
