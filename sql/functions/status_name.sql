-- A check status's name on the wire (0 OK .. 3 UNKNOWN; NULL, no result
-- yet, stays NULL). The same table as lib/status.h's status_names[].
CREATE OR REPLACE FUNCTION status_name(s smallint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT (ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'])[s + 1]
$$;
