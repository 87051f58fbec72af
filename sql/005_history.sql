-- 005_history.sql - history that stays fast for years (docs/history.md).
--
-- check_history becomes a table partitioned by day (UTC) of observed_at,
-- one partition per day named check_history_pYYYYMMDD. Retention drops whole
-- partitions (never DELETE); partitions are made ahead by the history thread
-- (serverd/store/history.c) and on demand, for a past day, before an insert
-- (history_admit()). Every unique key of a partitioned table must hold the
-- partition key, so the primary key is (id, observed_at) and the
-- de-duplication key (agent_id, result_id, observed_at): a resend repeats
-- observed_at, so a resent result is still a duplicate.
--
-- Roll-ups by minute, hour and day per check are built incrementally from
-- the rows whose id lies above rollup_watermark.last_id; the roll-up and the
-- new watermark commit in one transaction, so a crash never counts a row
-- twice (see history.c for how the upper bound is made safe against
-- transactions still in flight).
--
-- The rest: the history of each agent's facts. The functions that go with
-- all this (history_partition_ensure(), check_availability() in the check
-- and agent objects, agent_matches() ...) are files of sql/functions/.
-- No function exists yet while this runs, so it makes the partitions of the
-- rows it moves itself (the days of those rows, and today and the next two
-- days, as the history thread does), named as history_partition_name()
-- names them.

-- ---- check_history, partitioned -----------------------------------------

ALTER TABLE check_history RENAME TO check_history_unpartitioned;
ALTER TABLE check_history_unpartitioned
	RENAME CONSTRAINT check_history_pkey TO check_history_unpartitioned_pkey;
ALTER INDEX check_history_check_idx RENAME TO check_history_unpartitioned_check_idx;
ALTER INDEX check_history_result_idx RENAME TO check_history_unpartitioned_result_idx;

-- same columns in the same order: check_last() returns this row type
CREATE TABLE check_history (
	id           bigint NOT NULL DEFAULT nextval('check_history_id_seq'),
	check_id     bigint NOT NULL,
	agent_id     bigint NOT NULL,
	status       smallint NOT NULL CHECK (status BETWEEN 0 AND 3),
	value        double precision,
	output       text NOT NULL DEFAULT '',
	perfdata     text,
	observed_at  timestamptz NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	duration_ms  integer,
	result_id    text,
	PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);
ALTER SEQUENCE check_history_id_seq OWNED BY check_history.id;
CREATE INDEX check_history_check_idx ON check_history (check_id, observed_at DESC, id DESC);
CREATE UNIQUE INDEX check_history_result_idx ON check_history (agent_id, result_id, observed_at)
	WHERE result_id IS NOT NULL;

-- the rows already stored move into day partitions
DO $$
DECLARE
	d date;
BEGIN
	FOR d IN SELECT DISTINCT (observed_at AT TIME ZONE 'UTC')::date FROM check_history_unpartitioned
	         UNION SELECT (now() AT TIME ZONE 'UTC')::date + k FROM generate_series(0, 2) k LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF check_history FOR VALUES FROM (%L) TO (%L)',
			'check_history_p' || to_char(d, 'YYYYMMDD'),
			d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	END LOOP;
END $$;
INSERT INTO check_history SELECT * FROM check_history_unpartitioned;

-- A database made by the migrations of before sql/functions has check_last()
-- returning the old table's row type: it goes with the table (the functions
-- make it again for the new one).
DROP FUNCTION IF EXISTS check_last(bigint);
DROP TABLE check_history_unpartitioned;

-- ---- roll-ups -------------------------------------------------------------
--
-- One row per check and bucket (start, UTC). count: results; nvalues: those
-- with a value (vmin, vmax and vsum are over those; avg = vsum / nvalues);
-- ok..unknown: results per state.

CREATE TABLE rollup_minute (
	check_id  bigint NOT NULL,
	start     timestamptz NOT NULL,
	count     integer NOT NULL,
	nvalues   integer NOT NULL,
	vmin      double precision,
	vmax      double precision,
	vsum      double precision NOT NULL,
	ok        integer NOT NULL,
	warning   integer NOT NULL,
	critical  integer NOT NULL,
	unknown   integer NOT NULL,
	PRIMARY KEY (check_id, start)
);
CREATE TABLE rollup_hour (LIKE rollup_minute INCLUDING ALL);
CREATE TABLE rollup_day (LIKE rollup_minute INCLUDING ALL);
-- retention of minute and hour buckets deletes by start: BRIN is nearly free
-- to maintain since buckets arrive in time order
CREATE INDEX rollup_minute_start_idx ON rollup_minute USING brin (start);
CREATE INDEX rollup_hour_start_idx ON rollup_hour USING brin (start);

-- Rows with id <= last_id are counted in the roll-ups, the others not yet.
CREATE TABLE rollup_watermark (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_id     bigint NOT NULL DEFAULT 0,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rollup_watermark DEFAULT VALUES;

-- (history_raw_floor() reads the watermark; checks_delete_history() deletes
-- a check's roll-ups with its history.)

-- ---- inventory: facts history -------------------------------------------

-- One row each time an agent's facts change (a checkout whose facts differ
-- from the last ones, or the first facts of an agent).
CREATE TABLE agent_facts_history (
	id          bigserial PRIMARY KEY,
	agent_id    bigint NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
	changed_at  timestamptz NOT NULL DEFAULT now(),
	facts       jsonb NOT NULL
);
CREATE INDEX agent_facts_history_agent_idx ON agent_facts_history (agent_id, id);

-- a stand-in for the trigger: the body is sql/functions/agents_facts_history.sql
CREATE FUNCTION agents_facts_history() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER agents_facts_insert AFTER INSERT ON agents
	FOR EACH ROW WHEN (NEW.facts IS NOT NULL) EXECUTE FUNCTION agents_facts_history();
CREATE TRIGGER agents_facts_update AFTER UPDATE OF facts ON agents
	FOR EACH ROW WHEN (NEW.facts IS NOT NULL AND OLD.facts IS DISTINCT FROM NEW.facts)
	EXECUTE FUNCTION agents_facts_history();
INSERT INTO agent_facts_history (agent_id, facts)
	SELECT id, facts FROM agents WHERE facts IS NOT NULL;
