-- tz_wall_instant(wall, zone) - the instant a wall-clock time in a zone
-- names, as lib/tz.c's tz_from_local() has it (lib/oncall.h): a time that
-- exists twice (the autumn change) is its first occurrence, one that does
-- not exist (the spring gap) is the first instant after the gap.
-- PostgreSQL's own "wall AT TIME ZONE zone" reads both differently, so
-- rotations computed here (rotation_oncall()) would hand off at another
-- instant on those days than GET /api/v1/rotations/{name}/oncall says.
CREATE OR REPLACE FUNCTION tz_wall_instant(wall timestamp, zone text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
	u timestamptz := wall AT TIME ZONE zone;
	ob interval := ((u - interval '1 day') AT TIME ZONE zone)
		- ((u - interval '1 day') AT TIME ZONE 'UTC');
	oa interval := ((u + interval '1 day') AT TIME ZONE zone)
		- ((u + interval '1 day') AT TIME ZONE 'UTC');
	cb timestamptz;
	ca timestamptz;
	lo timestamptz;
	hi timestamptz;
	mid timestamptz;
BEGIN
	IF ob = oa THEN
		RETURN u;   -- no change of offset near: one reading
	END IF;
	cb := (wall - ob) AT TIME ZONE 'UTC';
	ca := (wall - oa) AT TIME ZONE 'UTC';
	IF (cb AT TIME ZONE zone) = wall AND (ca AT TIME ZONE zone) = wall THEN
		RETURN least(cb, ca);
	ELSIF (cb AT TIME ZONE zone) = wall THEN
		RETURN cb;
	ELSIF (ca AT TIME ZONE zone) = wall THEN
		RETURN ca;
	END IF;
	-- in the gap: the change itself, found to the second
	lo := least(cb, ca);
	hi := greatest(cb, ca);
	WHILE hi - lo > interval '1 second' LOOP
		mid := lo + (hi - lo) / 2;
		mid := date_trunc('second', mid);
		IF (mid AT TIME ZONE zone) >= wall THEN
			hi := mid;
		ELSE
			lo := mid;
		END IF;
	END LOOP;
	RETURN hi;
END
$$;
