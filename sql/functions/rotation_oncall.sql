-- rotation_oncall(rotation, at) - the id of the user on call in the named
-- rotation at an instant, or NULL (no such rotation, no members). The
-- same arithmetic as lib/oncall.c's rotation_at() (which answers GET
-- /api/v1/rotations/{name}/oncall): shifts on the rotation's wall clock
-- from the first hand-off, continued backwards before it, the newest
-- override covering the instant winning. Here so that the routing of
-- policies (policy_recipients()) resolves "rotation:NAME" inside the one
-- statement that records an event; tests/e2e/test_policies.py holds the
-- two to the same answers across a change of the clocks.
CREATE OR REPLACE FUNCTION rotation_oncall(rotation text, at timestamptz)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
	r rotations;
	who bigint;
	n integer;
	day date;
	wd integer;
	lensec bigint;
	base timestamp;
	k bigint;
	s0 timestamptz;
	s1 timestamptz;
BEGIN
	SELECT * INTO r FROM rotations WHERE name = rotation;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT o.contact_id INTO who FROM rotation_overrides o
	WHERE o.rotation_id = r.id AND o.start_at <= at AND o.end_at > at
	ORDER BY o.id DESC LIMIT 1;
	IF who IS NOT NULL THEN
		RETURN who;
	END IF;
	SELECT count(*) INTO n FROM rotation_members WHERE rotation_id = r.id;
	IF n = 0 THEN
		RETURN NULL;
	END IF;
	day := r.start_date;
	IF r.shift = 'week' THEN
		wd := COALESCE(array_position(ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
			left(lower(r.handoff_day), 3)) - 1, extract(dow FROM day)::integer);
		day := day + (((wd - extract(dow FROM day)::integer) % 7) + 7) % 7;
		lensec := 7 * 86400;
	ELSIF r.shift = 'day' THEN
		lensec := 86400;
	ELSE
		lensec := split_part(r.shift, ':', 2)::integer * 3600;
	END IF;
	base := day + r.handoff::time;
	k := floor(extract(epoch FROM (at AT TIME ZONE r.tz) - base) / lensec);
	-- the wall clock repeats an hour in autumn and skips one in spring:
	-- settle k on the instants, as rotation_at() does
	s0 := tz_wall_instant(base + make_interval(secs => k * lensec), r.tz);
	FOR i IN 1..4 LOOP
		EXIT WHEN at >= s0;
		k := k - 1;
		s0 := tz_wall_instant(base + make_interval(secs => k * lensec), r.tz);
	END LOOP;
	s1 := tz_wall_instant(base + make_interval(secs => (k + 1) * lensec), r.tz);
	FOR i IN 1..4 LOOP
		EXIT WHEN at < s1;
		k := k + 1;
		s1 := tz_wall_instant(base + make_interval(secs => (k + 1) * lensec), r.tz);
	END LOOP;
	SELECT m.contact_id INTO who FROM rotation_members m WHERE m.rotation_id = r.id
	ORDER BY m.pos OFFSET (((k % n) + n) % n) LIMIT 1;
	RETURN who;
END
$$;
