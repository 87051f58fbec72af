-- 008_face_fast.sql - /api/v1/status recomputed cheaply after a change
-- (issue #9: <= 30 ms at 10,000 checks with 500 problems).
--
-- What the old query spent, measured as backend CPU at that size: ~10 ms in
-- json_build_object/jsonb_build_object (they look up every argument's type
-- on every call), ~8 ms in the newest result of each problem (one probe per
-- problem into every day partition: with 31 days kept, 31 index probes per
-- problem), ~5 ms in counting 10,000 states through a join with checks.
-- serverd/api/api_status.c now reads plain columns and writes the JSON
-- itself; the two functions below do the rest.

-- The newest result (by observed_at, then id: what check_last() returns) of
-- each of the given checks, as one set: the day partitions are probed
-- newest first, each with one query for all the checks still without a
-- result, so the usual case (every problem reported today) is one probe
-- per check into one partition; partitions made ahead and still empty cost
-- one quick look each. Days are disjoint ranges of observed_at, so the
-- first partition holding a row of a check holds its newest row. A check
-- without a row in any day partition is finally looked up in check_history
-- itself (whatever other partitions it may have). STABLE: it reads the
-- snapshot of the calling statement.
CREATE FUNCTION check_last_many(ids bigint[])
RETURNS TABLE (check_id bigint, observed_at timestamptz, output text,
               value double precision, perfdata text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	todo bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL);
	p record;
	got bigint[];
	a_id bigint[] := '{}';
	a_at timestamptz[] := '{}';
	a_out text[] := '{}';
	a_val double precision[] := '{}';
	a_perf text[] := '{}';
	r_id bigint[];
	r_at timestamptz[];
	r_out text[];
	r_val double precision[];
	r_perf text[];
	probe CONSTANT text :=
		'SELECT array_agg(i.id), array_agg(l.observed_at), array_agg(l.output),'
		' array_agg(l.value), array_agg(l.perfdata)'
		' FROM unnest($1) i(id) CROSS JOIN LATERAL (SELECT h.observed_at, h.output, h.value, h.perfdata'
		'   FROM %s h WHERE h.check_id = i.id'
		'   ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) l';
BEGIN
	FOR p IN SELECT name FROM history_partitions() ORDER BY day DESC LOOP
		EXIT WHEN cardinality(todo) = 0;
		EXECUTE format(probe, quote_ident(p.name)) INTO r_id, r_at, r_out, r_val, r_perf USING todo;
		CONTINUE WHEN r_id IS NULL;
		a_id := a_id || r_id; a_at := a_at || r_at; a_out := a_out || r_out;
		a_val := a_val || r_val; a_perf := a_perf || r_perf;
		got := r_id;
		todo := ARRAY(SELECT x FROM unnest(todo) x EXCEPT SELECT y FROM unnest(got) y);
	END LOOP;
	IF cardinality(todo) > 0 THEN
		EXECUTE format(probe, 'check_history') INTO r_id, r_at, r_out, r_val, r_perf USING todo;
		IF r_id IS NOT NULL THEN
			a_id := a_id || r_id; a_at := a_at || r_at; a_out := a_out || r_out;
			a_val := a_val || r_val; a_perf := a_perf || r_perf;
		END IF;
	END IF;
	RETURN QUERY SELECT * FROM unnest(a_id, a_at, a_out, a_val, a_perf);
END $$;

-- Disabled checks are few; /status counts the states of the others by
-- subtracting them (one pass over check_state, no join with checks).
CREATE INDEX checks_disabled_idx ON checks (id) WHERE NOT enabled;
