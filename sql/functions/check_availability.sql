-- The share of OK results of the given checks, from the hour roll-ups (24h,
-- 7d) and the day roll-ups (30d, whole UTC days, today's included); null
-- without results. Results not yet rolled up (at most one roll-up interval)
-- are not counted.
CREATE OR REPLACE FUNCTION check_availability(check_ids bigint[]) RETURNS jsonb
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
