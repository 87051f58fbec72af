-- The name of check_history's partition of day d (UTC).
CREATE OR REPLACE FUNCTION history_partition_name(d date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT 'check_history_p' || to_char(d, 'YYYYMMDD')
$$;
