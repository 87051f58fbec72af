-- The newest result (by observed_at, then id: what check_last() returns) of
-- each of the given checks, as one set: /api/v1/status and the live
-- stream's check frames. Each day is asked by its partition's name
-- (EXECUTE), newest first: a plan for one table, made for that call, where
-- the index scan gives the order and a sort can only add to it (a generic
-- plan over every partition, made when a young partition's statistics said
-- about one row per check, read and sorted every row of the check instead:
-- bench/README.md). A check's newest row lies in the newest day holding any
-- of its rows, so the first day that answers for a check answers right; an
-- empty day is skipped after one look; every partition is a day partition
-- (history_partition_ensure() makes them all). A day that retention drops
-- between the list and its turn is skipped (through the parent it would not
-- have been there). STABLE: it reads the calling statement's snapshot.
CREATE OR REPLACE FUNCTION check_last_many(ids bigint[])
RETURNS TABLE (check_id bigint, observed_at timestamptz, output text,
               value double precision, perfdata text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	todo bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL);
	part text;
	found_any boolean;
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
	FOR part IN SELECT name FROM history_partitions() ORDER BY day DESC LOOP
		EXIT WHEN cardinality(todo) = 0;
		BEGIN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO found_any;
			CONTINUE WHEN NOT found_any;
			EXECUTE format('SELECT array_agg(i.id), array_agg(l.observed_at),'
			  ' array_agg(l.output), array_agg(l.value), array_agg(l.perfdata)'
			  ' FROM unnest($1) i(id) CROSS JOIN LATERAL ('
			  '  SELECT h.observed_at, h.output, h.value, h.perfdata FROM %I h'
			  '  WHERE h.check_id = i.id ORDER BY h.observed_at DESC, h.id DESC LIMIT 1) l',
			  part)
			  INTO r_id, r_at, r_out, r_val, r_perf USING todo;
		EXCEPTION WHEN undefined_table THEN
			-- retention dropped this day (the oldest) after the list was
			-- read: nothing of it is history any more
			CONTINUE;
		END;
		IF r_id IS NOT NULL THEN
			a_id := a_id || r_id; a_at := a_at || r_at; a_out := a_out || r_out;
			a_val := a_val || r_val; a_perf := a_perf || r_perf;
			todo := ARRAY(SELECT x FROM unnest(todo) x EXCEPT SELECT y FROM unnest(r_id) y);
		END IF;
	END LOOP;
	RETURN QUERY SELECT * FROM unnest(a_id, a_at, a_out, a_val, a_perf);
END $$;
