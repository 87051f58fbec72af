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
-- The rest: availability in the check and agent objects (wrapping the
-- JSON functions of the earlier migrations, whatever they became), and the
-- history of each agent's facts.

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

CREATE FUNCTION history_partition_name(d date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT 'check_history_p' || to_char(d, 'YYYYMMDD')
$$;

-- Makes the partition of day d (UTC) unless it exists; true when it made
-- it. Creators serialise on an advisory lock (class "hist"); one that loses
-- a race with another instance anyway sees duplicate_table and returns false.
CREATE FUNCTION history_partition_ensure(d date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	part text := history_partition_name(d);
BEGIN
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	PERFORM pg_advisory_xact_lock(1751741300, 1);
	IF to_regclass(part) IS NOT NULL THEN
		RETURN false;
	END IF;
	BEGIN
		EXECUTE format('CREATE TABLE %I PARTITION OF check_history FOR VALUES FROM (%L) TO (%L)',
			part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
	EXCEPTION WHEN duplicate_table OR unique_violation THEN
		RETURN false;
	END;
	RETURN true;
END $$;

-- The day partitions that exist, oldest first.
CREATE FUNCTION history_partitions() RETURNS TABLE (name text, day date)
LANGUAGE sql STABLE AS $$
	SELECT c.relname::text, to_date(substr(c.relname, 16), 'YYYYMMDD')
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'check_history'::regclass
	  AND c.relname ~ '^check_history_p[0-9]{8}$'
	ORDER BY 2
$$;

-- the rows already stored move into day partitions
SELECT history_partition_ensure(d)
FROM (SELECT DISTINCT (observed_at AT TIME ZONE 'UTC')::date AS d
      FROM check_history_unpartitioned) x;
SELECT history_partition_ensure((now() AT TIME ZONE 'UTC')::date + k)
FROM generate_series(0, 2) k;
INSERT INTO check_history SELECT * FROM check_history_unpartitioned;

-- check_last() returned the old table's row type: made again for the new
DROP FUNCTION check_last(bigint);
DROP TABLE check_history_unpartitioned;

-- The newest result of a check. The recent partitions are tried first
-- (runtime pruning on now()), so the usual case probes two partitions
-- instead of every one of them; a check silent for longer searches all.
CREATE FUNCTION check_last(check_id bigint) RETURNS check_history
LANGUAGE sql STABLE AS $$
	SELECT * FROM (
		(SELECT * FROM check_history h
		 WHERE h.check_id = $1 AND h.observed_at >= now() - interval '1 day'
		 ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)
		UNION ALL
		(SELECT * FROM check_history h WHERE h.check_id = $1
		 ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)
	) x LIMIT 1
$$;

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

-- Where the rows not rolled up yet may lie, from lo on: the start of the
-- oldest partition (not before lo) holding an id above the watermark, or
-- 'infinity'. A summary reads raw rows only from there, instead of probing
-- every partition of its range through the check's index: one look at the
-- right end of each partition's primary key (pages every summary shares).
-- STABLE: it sees the snapshot of the calling statement, so it agrees with
-- the roll-ups and the watermark that statement reads.
CREATE FUNCTION history_raw_floor(lo timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
	wm bigint := (SELECT last_id FROM rollup_watermark);
	p record;
	found boolean;
BEGIN
	FOR p IN SELECT name, day FROM history_partitions()
	         WHERE day >= (lo AT TIME ZONE 'UTC')::date LOOP
		EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id > $1)', p.name)
			INTO found USING wm;
		IF found THEN
			RETURN GREATEST(lo, p.day::timestamp AT TIME ZONE 'UTC');
		END IF;
	END LOOP;
	RETURN 'infinity';
END $$;

-- deleting a check deletes its history and its roll-ups
CREATE OR REPLACE FUNCTION checks_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM check_history WHERE check_id = OLD.id;
	DELETE FROM rollup_minute WHERE check_id = OLD.id;
	DELETE FROM rollup_hour WHERE check_id = OLD.id;
	DELETE FROM rollup_day WHERE check_id = OLD.id;
	RETURN NULL;
END $$;

-- ---- availability -----------------------------------------------------------
--
-- The share of OK results, from the hour roll-ups (24h, 7d) and the day
-- roll-ups (30d, whole UTC days, today's included); null without results.
-- Results not yet rolled up (at most one roll-up interval) are not counted.

CREATE FUNCTION check_availability(check_ids bigint[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'24h', (SELECT sum(ok)::float8 / NULLIF(sum(count), 0) FROM rollup_hour
		        WHERE check_id = ANY ($1) AND start >= now() - interval '24 hours'),
		'7d', (SELECT sum(ok)::float8 / NULLIF(sum(count), 0) FROM rollup_hour
		       WHERE check_id = ANY ($1) AND start >= now() - interval '7 days'),
		'30d', (SELECT sum(ok)::float8 / NULLIF(sum(count), 0) FROM rollup_day
		        WHERE check_id = ANY ($1)
		          AND start >= date_trunc('day', now(), 'UTC') - interval '29 days'))
$$;

-- The JSON of a check and of an agent gain "availability". The functions of
-- the earlier migrations (001, and whatever 003 made of them) are kept under
-- another name and wrapped, so this migration adds a member and changes
-- nothing else.
ALTER FUNCTION check_json(checks) RENAME TO check_json_before_005;
CREATE FUNCTION check_json(c checks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT check_json_before_005(c) ||
		jsonb_build_object('availability', check_availability(ARRAY[c.id]))
$$;
ALTER FUNCTION agent_json(agents) RENAME TO agent_json_before_005;
CREATE FUNCTION agent_json(a agents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT agent_json_before_005(a) ||
		jsonb_build_object('availability', check_availability(
			ARRAY(SELECT c.id FROM checks c WHERE c.agent_id = a.id)))
$$;

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

CREATE FUNCTION agents_facts_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO agent_facts_history (agent_id, facts) VALUES (NEW.id, NEW.facts);
	RETURN NULL;
END $$;
CREATE TRIGGER agents_facts_insert AFTER INSERT ON agents
	FOR EACH ROW WHEN (NEW.facts IS NOT NULL) EXECUTE FUNCTION agents_facts_history();
CREATE TRIGGER agents_facts_update AFTER UPDATE OF facts ON agents
	FOR EACH ROW WHEN (NEW.facts IS NOT NULL AND OLD.facts IS DISTINCT FROM NEW.facts)
	EXECUTE FUNCTION agents_facts_history();
INSERT INTO agent_facts_history (agent_id, facts)
	SELECT id, facts FROM agents WHERE facts IS NOT NULL;

-- Search over an agent's name and the string values of its facts (kernel,
-- OS, CPU model, addresses ...), case-insensitive, as a substring.
CREATE FUNCTION agent_matches(a agents, q text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT strpos(lower(a.name), lower(q)) > 0
	    OR EXISTS (SELECT 1 FROM jsonb_path_query(COALESCE(a.facts, '{}'),
	                 'strict $.** ? (@.type() == "string")') v
	               WHERE strpos(lower(v #>> '{}'), lower(q)) > 0)
$$;
