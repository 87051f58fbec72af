-- 008_face_fast.sql - /api/v1/status recomputed cheaply after a change
-- (docs/design.md, budgets: <= 30 ms at 10,000 checks with 500 problems).
--
-- What the old query spent, measured as backend CPU at that size: ~10 ms in
-- json_build_object/jsonb_build_object (they look up every argument's type
-- on every call), ~8 ms in the newest result of each problem (one probe per
-- problem into every day partition: with 31 days kept, 31 index probes per
-- problem), ~5 ms in counting 10,000 states through a join with checks.
-- serverd/api/api_status.c now reads plain columns and writes the JSON
-- itself; the two functions below do the rest.

-- The newest result (by observed_at, then id: what check_last() returns) of
-- each of the given checks, as one set. The partitions (history_partitions()
-- of sql/005) are taken newest first, each as the range of observed_at from
-- its first day up to where the next newer one starts, so run-time pruning
-- leaves one partition per query; an empty range is skipped after one look;
-- otherwise one query probes it for all the checks still without a result
-- (one index probe per check). A check's newest row lies in the newest
-- range holding any of its rows, so the first range that answers for a
-- check answers right. The usual case - every problem reported today - is
-- one probe per check into one partition, where a probe of the partitioned
-- table costs one probe per partition and check (31 with 31 days kept).
-- Checks without a row in any of those ranges are looked up in the whole
-- of check_history last. STABLE: it reads the calling statement's snapshot.
CREATE FUNCTION check_last_many(ids bigint[])
RETURNS TABLE (check_id bigint, observed_at timestamptz, output text,
               value double precision, perfdata text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	todo bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL);
	d date;
	lo timestamptz;
	hi timestamptz := 'infinity';
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
BEGIN
	FOR d IN SELECT day FROM history_partitions() ORDER BY day DESC LOOP
		EXIT WHEN cardinality(todo) = 0;
		lo := d::timestamp AT TIME ZONE 'UTC';
		PERFORM FROM check_history h WHERE h.observed_at >= lo AND h.observed_at < hi LIMIT 1;
		IF FOUND THEN
			SELECT array_agg(i.id), array_agg(l.observed_at), array_agg(l.output),
			       array_agg(l.value), array_agg(l.perfdata)
			INTO r_id, r_at, r_out, r_val, r_perf
			FROM unnest(todo) i(id) CROSS JOIN LATERAL (
				SELECT h.observed_at, h.output, h.value, h.perfdata FROM check_history h
				WHERE h.check_id = i.id AND h.observed_at >= lo AND h.observed_at < hi
				ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) l;
			IF r_id IS NOT NULL THEN
				a_id := a_id || r_id; a_at := a_at || r_at; a_out := a_out || r_out;
				a_val := a_val || r_val; a_perf := a_perf || r_perf;
				todo := ARRAY(SELECT x FROM unnest(todo) x EXCEPT SELECT y FROM unnest(r_id) y);
			END IF;
		END IF;
		hi := lo;
	END LOOP;
	IF cardinality(todo) > 0 THEN
		SELECT array_agg(i.id), array_agg(l.observed_at), array_agg(l.output),
		       array_agg(l.value), array_agg(l.perfdata)
		INTO r_id, r_at, r_out, r_val, r_perf
		FROM unnest(todo) i(id) CROSS JOIN LATERAL (
			SELECT h.observed_at, h.output, h.value, h.perfdata FROM check_history h
			WHERE h.check_id = i.id ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) l;
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
