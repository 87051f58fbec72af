-- A timestamp as the API writes it: RFC 3339 in UTC, with microseconds
-- unless they are zero.
CREATE OR REPLACE FUNCTION rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT regexp_replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
		'\.000000$', '') || 'Z'
$$;
